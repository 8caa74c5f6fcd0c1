/* knd_trace_export.c - span export (being written). */
typedef int knd_trace_export_placeholder_t;
