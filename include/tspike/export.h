/* SPDX-License-Identifier: Apache-2.0 */
/* TSPIKE_API marks what libtspike exports. The library is compiled with
 * hidden visibility, so only declarations marked here (the public API) are
 * visible to programs that link the shared library; internal symbols stay
 * private and cannot clash with the host's (e.g. its own ONNX or protobuf).
 * C-compatible: included by tspike_c.h. */
#ifndef TSPIKE_EXPORT_H
#define TSPIKE_EXPORT_H

#if defined(_WIN32)
#define TSPIKE_API
#elif defined(__GNUC__) || defined(__clang__)
#define TSPIKE_API __attribute__((visibility("default")))
#else
#define TSPIKE_API
#endif

#endif /* TSPIKE_EXPORT_H */
