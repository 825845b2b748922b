"""Real-time safety: no heap, no locks, no I/O inside process, for every layer type."""
import pytest

from test_c_engine import MODELS
from tinyrt.backends.c import CCode
from tinyrt.backends.c import harness as H


@pytest.mark.parametrize("case", sorted(MODELS))
def test_process_never_allocates_or_locks(case):
    report = H.check_realtime(MODELS[case], frames=512, block=16)
    assert report["probe_heap_calls"] == 1, "the malloc hook must see the harness's own allocation"
    assert report["heap_calls"] == 0 and report["lock_calls"] == 0
    assert report["forbidden_symbols"] == [] and report["passed"]


def _bad_code(body: str, includes: str = "") -> CCode:
    header = """#include <stddef.h>
typedef struct { float last; } bad_state;
enum { bad_input_size = 1, bad_output_size = 1 };
void bad_reset(bad_state *s);
void bad_process(bad_state *s, const float *in, float *out, int n_frames);
"""
    source = f"""#include "bad.h"
#include <stdlib.h>
{includes}
void bad_reset(bad_state *s) {{ s->last = 0.0f; }}
void bad_process(bad_state *s, const float *in, float *out, int n_frames)
{{
    int t;
    for (t = 0; t < n_frames; t++) {{
{body}
        out[t] = in[t] + s->last;
    }}
}}
"""
    return CCode("bad", header, source)


def test_the_check_catches_a_process_that_allocates():
    code = _bad_code("        keep = malloc(16); s->last = in[t]; free(keep);",
                     "static void *volatile keep;")
    report = H.check_code(code, frames=64, block=16)
    assert report["heap_calls"] == 128 and not report["passed"]
    assert {"malloc", "free"} <= set(report["forbidden_symbols"])


def test_the_check_catches_locks_and_io():
    code = _bad_code("        pthread_mutex_lock(&lock); s->last = in[t]; pthread_mutex_unlock(&lock); "
                     "fprintf(stderr, \"%d\", t);",
                     "#include <pthread.h>\n#include <stdio.h>\n"
                     "static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;")
    code.source = code.source.replace('#include "bad.h"', '#define _POSIX_C_SOURCE 200809L\n#include "bad.h"')
    report = H.check_code(code, frames=64, block=16)
    assert report["lock_calls"] == 64 and not report["passed"]
    assert {"pthread_mutex_lock", "fprintf"} <= set(report["forbidden_symbols"])
