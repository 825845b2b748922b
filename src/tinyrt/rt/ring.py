"""The test program of trt_ring.h: one producer thread and one consumer thread pass N messages.

``build_ring_test(sanitize="thread")`` builds it with ThreadSanitizer (or ``None`` for a plain -O2
build); run it as ``program N``: it prints one JSON line (sent, received, in_order, full_waits) and
exits 0 when every message arrived once and in order.
"""
from __future__ import annotations

from pathlib import Path

from ..c.build import flags_for
from .host import compile_program

RING_TEST_C = r"""/* ring_test.c - trt_ring.h under two threads: a producer pushes N numbered messages into a small
 * ring (spinning while it is full), a consumer pops them (spinning while it is empty) and checks
 * that each arrives once, in order, with its payload intact. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "trt_ring.h"

typedef struct {
    uint32_t seq;
    float value;
    uint32_t check;
} msg;

static trt_ring ring;
static msg slots[64];
static long count;
static long full_waits, empty_waits, received, bad_at = -1;
#ifdef RING_TEST_RACY
static long racy; /* written by both threads without synchronisation: ThreadSanitizer must see it */
#define RACE() (racy++)
#else
#define RACE() ((void)0)
#endif

static void *producer(void *arg)
{
    long i;
    (void)arg;
    for (i = 0; i < count; i++) {
        msg m;
        m.seq = (uint32_t)i;
        m.value = (float)(i % 1000) * 0.5f;
        m.check = (uint32_t)i * 2654435761u;
        RACE();
        while (!trt_ring_push(&ring, &m)) {
            full_waits++;
            sched_yield();
        }
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long i;
    (void)arg;
    for (i = 0; i < count; i++) {
        msg m;
        while (!trt_ring_pop(&ring, &m)) {
            empty_waits++;
            sched_yield();
        }
        if (bad_at < 0 && (m.seq != (uint32_t)i || m.value != (float)(i % 1000) * 0.5f ||
                           m.check != (uint32_t)i * 2654435761u))
            bad_at = i;
        received++;
        RACE();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t p, c;
    count = argc > 1 ? atol(argv[1]) : 1000000;
    if (trt_ring_init(&ring, slots, 64, sizeof(msg)) != 0 || trt_ring_init(&ring, slots, 48, sizeof(msg)) != -1 ||
        trt_ring_init(&ring, slots, 64, sizeof(msg)) != 0) {
        fprintf(stderr, "ring_test: trt_ring_init accepted a capacity that is not a power of two\n");
        return 1;
    }
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("{\"sent\": %ld, \"received\": %ld, \"in_order\": %s, \"first_bad\": %ld, \"full_waits\": %ld, "
           "\"empty_waits\": %ld, \"left\": %u}\n", count, received, bad_at < 0 ? "true" : "false", bad_at,
           full_waits, empty_waits, (unsigned)trt_ring_count(&ring));
    return bad_at < 0 && received == count && trt_ring_count(&ring) == 0 ? 0 : 1;
}
"""


def build_ring_test(sanitize: str | None = "thread", *, racy: bool = False) -> Path:
    """Build the ring's two-thread test program (with -fsanitize=thread by default) and return its path.

    ``racy`` adds a counter both threads write unsynchronised, to prove the sanitizer reports races.
    """
    flags = flags_for("portable") + (["-DRING_TEST_RACY"] if racy else [])
    if sanitize:
        flags = [f for f in flags if not f.startswith("-O")] + ["-O1", "-g", f"-fsanitize={sanitize}"]
    name = f"ring_test{'_' + sanitize if sanitize else ''}{'_racy' if racy else ''}"
    return compile_program({"ring_test.c": RING_TEST_C}, name, flags, ["-lpthread"])
