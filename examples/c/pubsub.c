/*
 * pubsub.c: publish and subscribe with twinlink, and ride out a broker restart.
 *
 *   usage: pubsub BROKER_URI          (for example mqtt://127.0.0.1:1883)
 *
 * Connects, subscribes to twinlink/demo/#, publishes a few messages and prints what comes back.
 * Then it waits for the broker to go away and come back: messages published while disconnected
 * are queued and delivered after the reconnect, and a last round is published once connected
 * again. Exits 0 when every message came back, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twinlink.h"

#define PER_ROUND 3
#define TOTAL (3 * PER_ROUND) /* before the restart, while disconnected, after the reconnect */
#define RESTART_WAIT_S 30

struct demo {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signalled on every connection event and message */
    int connected;
    int lost;         /* the connection went away after being up */
    int back;         /* connected again after that */
    int received[TOTAL];
    int received_count;
    int failed_publishes;
};

static void on_connection(const tl_connection_event *event, void *user_data) {
    struct demo *demo = user_data;
    switch (event->state) {
    case TL_STATE_CONNECTING:
        printf("  [connection] connecting to %s\n", event->broker);
        break;
    case TL_STATE_CONNECTED:
        printf("  [connection] connected\n");
        break;
    case TL_STATE_RECONNECTING:
        printf("  [connection] next attempt in %u ms%s%s\n", event->retry_in_ms, event->attempt > 0 ? " after: " : "",
               event->attempt > 0 ? event->message : "");
        break;
    case TL_STATE_DISCONNECTED:
        printf("  [connection] disconnected%s%s\n", event->reason != TL_OK ? ": " : "",
               event->reason != TL_OK ? event->message : "");
        break;
    }
    pthread_mutex_lock(&demo->lock);
    if (demo->connected && event->state != TL_STATE_CONNECTED) demo->lost = 1;
    if (demo->lost && event->state == TL_STATE_CONNECTED) demo->back = 1;
    demo->connected = event->state == TL_STATE_CONNECTED;
    pthread_cond_broadcast(&demo->changed);
    pthread_mutex_unlock(&demo->lock);
}

static void on_message(const tl_message *message, void *user_data) {
    struct demo *demo = user_data;
    const char *last_level = strrchr(message->topic, '/');
    const int n = last_level != NULL ? atoi(last_level + 1) : -1;
    printf("  received %s: %.*s\n", message->topic, (int)message->payload_len, (const char *)message->payload);
    pthread_mutex_lock(&demo->lock);
    if (n >= 0 && n < TOTAL && !demo->received[n]) {
        demo->received[n] = 1;
        demo->received_count++;
    }
    pthread_cond_broadcast(&demo->changed);
    pthread_mutex_unlock(&demo->lock);
}

static void on_published(uint64_t message_id, tl_status status, void *user_data) {
    struct demo *demo = user_data;
    if (status == TL_OK) return;
    fprintf(stderr, "pubsub: message %llu failed: %s\n", (unsigned long long)message_id, tl_status_str(status));
    pthread_mutex_lock(&demo->lock);
    demo->failed_publishes++;
    pthread_mutex_unlock(&demo->lock);
}

/* Waits until *flag >= value or `seconds` pass; returns whether it got there. */
static int wait_for(struct demo *demo, const int *flag, int value, int seconds) {
    struct timespec deadline;
    int reached;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += seconds;
    pthread_mutex_lock(&demo->lock);
    while (*flag < value && pthread_cond_timedwait(&demo->changed, &demo->lock, &deadline) == 0) {
    }
    reached = *flag >= value;
    pthread_mutex_unlock(&demo->lock);
    return reached;
}

static int failed_publishes(struct demo *demo) {
    int failed;
    pthread_mutex_lock(&demo->lock);
    failed = demo->failed_publishes;
    pthread_mutex_unlock(&demo->lock);
    return failed;
}

static int fail(const char *what, tl_status status) {
    fprintf(stderr, "pubsub: %s failed: %s (%s)\n", what, tl_last_error(), tl_status_str(status));
    return 0;
}

/* Publishes messages first..first+PER_ROUND-1; waits for each acknowledgement when `wait`. */
static int publish_round(tl_client *client, struct demo *demo, int first, int wait) {
    char topic[64], payload[64];
    int n;
    for (n = first; n < first + PER_ROUND; n++) {
        tl_status status;
        snprintf(topic, sizeof topic, "twinlink/demo/%d", n);
        snprintf(payload, sizeof payload, "message %d of %d", n + 1, TOTAL);
        status = wait ? tl_client_publish_wait(client, topic, payload, strlen(payload), 1, 0, 10000)
                      : tl_client_publish(client, topic, payload, strlen(payload), 1, 0, on_published, demo, NULL,
                                          NULL);
        if (status != TL_OK) return fail("publish", status);
    }
    return 1;
}

static int run(tl_client *client, struct demo *demo) {
    tl_status status;
    if ((status = tl_client_connect(client, 10000)) != TL_OK) return fail("connect", status);
    if ((status = tl_client_subscribe(client, "twinlink/demo/#", 1, on_message, demo, NULL, NULL)) != TL_OK)
        return fail("subscribe", status);
    printf("subscribed to twinlink/demo/#, client id %s\n", tl_client_id(client));

    printf("publishing %d messages\n", PER_ROUND);
    if (!publish_round(client, demo, 0, 1)) return 0;
    if (!wait_for(demo, &demo->received_count, PER_ROUND, 10)) {
        fprintf(stderr, "pubsub: the first messages did not come back\n");
        return 0;
    }

    printf("waiting for the broker to come back\n");
    if (!wait_for(demo, &demo->lost, 1, RESTART_WAIT_S)) {
        fprintf(stderr, "pubsub: the connection was not lost within %d s\n", RESTART_WAIT_S);
        return 0;
    }
    printf("publishing %d messages while disconnected (they wait in the offline queue)\n", PER_ROUND);
    if (!publish_round(client, demo, PER_ROUND, 0)) return 0;
    if (!wait_for(demo, &demo->back, 1, RESTART_WAIT_S)) {
        fprintf(stderr, "pubsub: not reconnected within %d s\n", RESTART_WAIT_S);
        return 0;
    }

    printf("publishing %d more messages after the reconnect\n", PER_ROUND);
    if (!publish_round(client, demo, 2 * PER_ROUND, 1)) return 0;
    if (!wait_for(demo, &demo->received_count, TOTAL, 10) || failed_publishes(demo) > 0) {
        pthread_mutex_lock(&demo->lock);
        fprintf(stderr, "pubsub: received %d of %d messages, %d publishes failed\n", demo->received_count, TOTAL,
                demo->failed_publishes);
        pthread_mutex_unlock(&demo->lock);
        return 0;
    }
    printf("received all %d messages\n", TOTAL);
    if ((status = tl_client_disconnect(client, 5000)) != TL_OK) return fail("disconnect", status);
    return 1;
}

int main(int argc, char **argv) {
    struct demo demo;
    pthread_condattr_t condattr;
    tl_client_options *options = NULL;
    tl_client *client = NULL;
    tl_status status;
    int ok = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s BROKER_URI   (for example mqtt://127.0.0.1:1883)\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe */
    memset(&demo, 0, sizeof demo);
    pthread_mutex_init(&demo.lock, NULL);
    pthread_condattr_init(&condattr);
    pthread_condattr_setclock(&condattr, CLOCK_MONOTONIC);
    pthread_cond_init(&demo.changed, &condattr);
    pthread_condattr_destroy(&condattr);

    printf("twinlink %s, broker %s\n", tl_version(), argv[1]);
    if ((status = tl_client_options_new(&options)) != TL_OK ||
        (status = tl_client_options_add_broker(options, argv[1])) != TL_OK ||
        (status = tl_client_options_set_reconnect_backoff(options, 200, 2000)) != TL_OK ||
        (status = tl_client_options_set_connection_callback(options, on_connection, &demo, NULL)) != TL_OK) {
        fail("setting the options", status);
    } else if ((status = tl_client_new(&client, options)) != TL_OK) {
        fail("creating the client", status);
    } else {
        ok = run(client, &demo);
    }

    tl_client_free(client); /* no callback runs after this returns */
    tl_client_options_free(options);
    pthread_cond_destroy(&demo.changed);
    pthread_mutex_destroy(&demo.lock);
    printf("%s\n", ok ? "done" : "FAILED");
    return ok ? 0 : 1;
}
