/* knd_trace.c - tracing (being written). */
typedef int knd_trace_placeholder_t;
