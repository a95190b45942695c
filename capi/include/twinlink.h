/*
 * twinlink.h — the twinlink C ABI. Include this header; it includes every module.
 *
 * Conventions (docs/c-api.md has the full text):
 *  - every fallible function returns tl_status: TL_OK (0) or a negative error; after an error,
 *    tl_last_error() gives a message on the calling thread;
 *  - constructors write the new handle through their first parameter (`out`); the caller owns it and
 *    releases it with the matching *_free(), which accepts NULL;
 *  - strings passed in are copied before the call returns unless a comment says otherwise;
 *    strings and buffers passed out are borrowed, valid for the time the comment states;
 *  - callbacks take `void *user_data` last; every registration takes a destructor for that
 *    user_data, called exactly once when twinlink no longer needs it (NULL: none);
 *  - every handle may be used from any thread at once.
 */
#ifndef TWINLINK_H
#define TWINLINK_H

#include "twinlink/common.h"
#include "twinlink/errors.h"
#include "twinlink/client.h"
#include "twinlink/shadow.h"
#include "twinlink/datapoints.h"
#include "twinlink/device.h"
#include "twinlink/runtime.h"

#endif /* TWINLINK_H */
