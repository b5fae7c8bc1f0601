# SPDX-License-Identifier: Apache-2.0
# Man pages for the tools, generated from their --help and --version by
# Debian's help2man (scripts/install-deps.sh) and installed in man1. Not in
# sanitizer builds, whose tools would run instrumented at build time.
find_program(TSPIKE_HELP2MAN help2man)
if(NOT TSPIKE_SANITIZER_FLAGS)
  if(NOT TSPIKE_HELP2MAN)
    message(WARNING "help2man not found (Debian: help2man): no man pages; scripts/test-install.sh fails")
  else()
    set(TSPIKE_MAN_NAMES
      "tsrun=run a ternary-spike model on an image, a tensor or an event recording"
      "tsconvert=convert a trained ternary-spike ONNX model into tspike's inference model"
      "tseval=measure a tspike model's accuracy on a data set"
      "tsbench=benchmark a tspike model's engines against PyTorch and ONNX Runtime")
    set(man_pages "")
    foreach(entry ${TSPIKE_MAN_NAMES})
      string(REGEX MATCH "^[^=]+" tool "${entry}")
      string(REGEX REPLACE "^[^=]+=" "" what "${entry}")
      if(TARGET ${tool})
        set(page ${CMAKE_BINARY_DIR}/man/${tool}.1)
        add_custom_command(OUTPUT ${page}
          COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
          COMMAND ${TSPIKE_HELP2MAN} --no-info --section=1 --name=${what} --output=${page} $<TARGET_FILE:${tool}>
          DEPENDS ${tool}
          COMMENT "Man page of ${tool}"
          VERBATIM)
        list(APPEND man_pages ${page})
      endif()
    endforeach()
    add_custom_target(man_pages ALL DEPENDS ${man_pages})
    install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  endif()
endif()
