# SPDX-License-Identifier: Apache-2.0
"""tspike's exceptions: one class per C++ `tspike::ErrorCode`.

Every failure the library reports (a broken model, image or .npy file, an
input that does not fit, a limit passed) raises a subclass of `Error` whose
`code` is the matching `ErrorCode`. Catch `tspike.Error` for all of them.
"""

import enum


class ErrorCode(enum.IntEnum):
    """The C++ `tspike::ErrorCode`; the numbers are the C API's TSPIKE_ERR_*."""

    PARSE = 1            #: not a readable ONNX / image / .npy file
    INVALID_MODEL = 2    #: the model breaks the format or ONNX's rules
    UNSUPPORTED_OP = 3   #: an op or attribute value the runtime does not implement
    SHAPE_MISMATCH = 4   #: shapes that do not fit together
    RESOURCE_LIMIT = 5   #: a size beyond the configured limits (tspike.Limits)
    BAD_INPUT = 6        #: a caller's input or option that does not fit the model
    IO = 7               #: a file that cannot be opened, read or written


class Error(Exception):
    """A failure reported by tspike. `code` is its `ErrorCode`; the message
    names the file, node and tensor involved."""

    code: ErrorCode

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = ErrorCode(code)


class ParseError(Error):
    """The file is not a readable ONNX model, image or .npy file."""
    code = ErrorCode.PARSE


class InvalidModelError(Error):
    """The model breaks the tspike format or ONNX's rules."""
    code = ErrorCode.INVALID_MODEL


class UnsupportedOpError(Error):
    """An op or attribute value the runtime does not implement."""
    code = ErrorCode.UNSUPPORTED_OP


class ShapeMismatchError(Error, ValueError):
    """Shapes in the model that do not fit together."""
    code = ErrorCode.SHAPE_MISMATCH


class ResourceLimitError(Error):
    """A size beyond the limits (`tspike.Limits`), checked before allocating."""
    code = ErrorCode.RESOURCE_LIMIT


class BadInputError(Error, ValueError):
    """An input or option that does not fit the model (e.g. a wrong shape)."""
    code = ErrorCode.BAD_INPUT


class FileIOError(Error, OSError):
    """A file that cannot be opened, read or written."""
    code = ErrorCode.IO


#: The class raised for each code.
BY_CODE = {cls.code: cls for cls in (ParseError, InvalidModelError, UnsupportedOpError,
                                     ShapeMismatchError, ResourceLimitError, BadInputError,
                                     FileIOError)}
