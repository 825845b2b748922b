/* trt_ring.h - a lock-free single-producer / single-consumer ring of fixed-size messages (C99 with
 * the GCC/Clang __atomic builtins).
 *
 * What the live host uses to pass control (parameter index + value) into the audio thread and
 * statistics out of it. One thread pushes, one other thread pops; neither ever waits, allocates,
 * locks or does I/O: a push into a full ring and a pop from an empty one return 0 at once.
 *
 * The caller owns all memory: `data` holds capacity * msg_size bytes, capacity a power of two.
 * head and tail are free-running 32-bit counters (unsigned wrap-around keeps head - tail the fill);
 * the producer alone writes head, the consumer alone writes tail, each on its own cache line. The
 * producer publishes a message by a release store of head after copying it in; the consumer
 * acquires head before copying it out and releases tail after, so the producer never overwrites a
 * slot that is still being read.
 */
#ifndef TRT_RING_H
#define TRT_RING_H

#include <stdint.h>
#include <string.h>

#define TRT_RING_CACHE_LINE 64

typedef struct {
    unsigned char *data;  /* capacity * msg_size bytes, the caller's */
    uint32_t mask;        /* capacity - 1 */
    uint32_t msg_size;    /* bytes per message */
    unsigned char pad0[TRT_RING_CACHE_LINE - sizeof(unsigned char *) - 2 * sizeof(uint32_t)];
    uint32_t head;        /* messages pushed (the producer's) */
    unsigned char pad1[TRT_RING_CACHE_LINE - sizeof(uint32_t)];
    uint32_t tail;        /* messages popped (the consumer's) */
    unsigned char pad2[TRT_RING_CACHE_LINE - sizeof(uint32_t)];
} trt_ring;

/* Set the ring up over data (capacity * msg_size bytes). Return 0, or -1 when capacity is not a
 * power of two between 2 and 2^30 or msg_size is 0. Call before either thread uses the ring. */
static inline int trt_ring_init(trt_ring *r, void *data, uint32_t capacity, uint32_t msg_size)
{
    if (capacity < 2 || capacity > (1u << 30) || (capacity & (capacity - 1u)) != 0 || msg_size == 0)
        return -1;
    r->data = (unsigned char *)data;
    r->mask = capacity - 1u;
    r->msg_size = msg_size;
    r->head = 0;
    r->tail = 0;
    return 0;
}

/* Producer: copy one message in. Return 1, or 0 when the ring is full (nothing written). */
static inline int trt_ring_push(trt_ring *r, const void *msg)
{
    uint32_t head = r->head; /* only this thread writes head */
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    if (head - tail > r->mask)
        return 0;
    memcpy(r->data + (size_t)(head & r->mask) * r->msg_size, msg, r->msg_size);
    __atomic_store_n(&r->head, head + 1u, __ATOMIC_RELEASE);
    return 1;
}

/* Consumer: copy the oldest message out. Return 1, or 0 when the ring is empty. */
static inline int trt_ring_pop(trt_ring *r, void *msg)
{
    uint32_t tail = r->tail; /* only this thread writes tail */
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (head == tail)
        return 0;
    memcpy(msg, r->data + (size_t)(tail & r->mask) * r->msg_size, r->msg_size);
    __atomic_store_n(&r->tail, tail + 1u, __ATOMIC_RELEASE);
    return 1;
}

/* Either thread: the messages waiting (a snapshot; exact only from the consumer's side). */
static inline uint32_t trt_ring_count(const trt_ring *r)
{
    return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}

#endif /* TRT_RING_H */
