// Errors the addon's functions throw (packet.c defines them, probe.c uses them too): a failing
// system call as an Error with `code` ('EPERM', ...), `errno` (negative, as Node's) and `syscall`;
// bad arguments as a TypeError with code ERR_INVALID_ARG_TYPE. Both return NULL for the caller to return.
#ifndef VIGIL_NAPI_ERRORS_H
#define VIGIL_NAPI_ERRORS_H
#include <node_api.h>

napi_value throw_errno(napi_env env, const char *syscall, int err);
napi_value throw_arg(napi_env env, const char *msg);

#endif
