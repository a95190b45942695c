/*
 * twinlink/errors.h — status names and the message of the last error.
 */
#ifndef TWINLINK_ERRORS_H
#define TWINLINK_ERRORS_H

#include "twinlink/common.h"

TL_BEGIN_DECLS

/*
 * The message of the last failed twinlink call on the calling thread, e.g.
 * "invalid broker URI 'http://x': unknown scheme 'http' (expected mqtt, mqtts, ws or wss)".
 * Borrowed: valid until the next twinlink call on this thread. "" when no call failed yet.
 * Never NULL. Any thread; never blocks.
 */
TL_API const char *tl_last_error(void);

/*
 * Stable lower-case name of a status ("ok", "timeout", "queue full", ...); "unknown status" for a
 * value this library does not know. Static storage; never NULL. Any thread; never blocks.
 */
TL_API const char *tl_status_str(tl_status status);

TL_END_DECLS

#endif /* TWINLINK_ERRORS_H */
