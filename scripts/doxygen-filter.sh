#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Doxygen input filter for the public headers: their plain comments (`//` in
# C++, `/* */` in the C header) become documentation comments, so the headers
# need no markup for one tool. A comment after a member documents it (`///<`).
sed -e 's#^\([[:space:]]*\)// #\1/// #' -e 's#\([;,{]\)[[:space:]]*// #\1  ///< #' \
    -e 's#^\([[:space:]]*\)/\* #\1/** #' -e 's#\([;,]\)[[:space:]]*/\* #\1  /**< #' "$1"
