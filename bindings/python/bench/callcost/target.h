/* What every binding style of the call-cost benchmark calls, in one shared library of its own so
 * that the three extension modules call exactly the same code through the same kind of dynamic call
 * (a PLT jump, as into libtwinlink) and share one datapoint pipeline. */
#ifndef CALLCOST_TARGET_H
#define CALLCOST_TARGET_H
#include <stddef.h>

#include <twinlink.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stores the name's length and the value into volatiles and returns: the cheapest call that the
 * compiler cannot remove, so a binding's own cost is what remains around it. */
void callcost_sink(const char *name, size_t size, double value);

/* The pipeline that the modules' record() functions record into; NULL until callcost_open(). */
extern tl_datapoints *callcost_pipeline;

/* Connects a client to `broker_uri` and starts the pipeline of `device` on it, with delivery
 * judged at the broker's PUBACK and room for every point a run records (nothing dropped, recording
 * never waits), as bindings/python/bench/bench.py configures its devices. */
tl_status callcost_open(const char *broker_uri, const char *device);

/* Waits until every point recorded so far is acknowledged (at most timeout_ms). */
tl_status callcost_flush(unsigned timeout_ms);

/* Points acknowledged by the broker and points dropped, for the check that nothing was lost. */
tl_status callcost_counts(unsigned long long *acked, unsigned long long *dropped);

/* Stops the pipeline and the client. No-op when nothing is open. */
void callcost_close(void);

#ifdef __cplusplus
}
#endif
#endif
