/*
 * stats: renders a stats snapshot (stats-t.h) as the HTML stats page and as JSON (/stats.json) in
 * stats.c, and as Prometheus text exposition format 0.0.4 (/metrics) in stats_prom.c. Pure functions
 * over the snapshot: no I/O, no globals, so they are unit-tested directly.
 *
 * Each renderer appends to a capped struct buf and returns 0, or -1 when the buffer's cap was hit (the
 * buffer then holds a truncated document the caller must not serve).
 */
#ifndef RECHECK_STATS_H
#define RECHECK_STATS_H

#include "buf.h"
#include "stats-t.h"

int stats_render_html(const struct stats_snapshot *s, struct buf *out);
int stats_render_json(const struct stats_snapshot *s, struct buf *out);
int stats_render_prometheus(const struct stats_snapshot *s, struct buf *out);

/* Content types to serve the renderings with. */
#define STATS_CT_HTML "text/html; charset=utf-8"
#define STATS_CT_JSON "application/json"
#define STATS_CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* Escapers, exposed for tests. Each appends to out; -1 when the cap is hit. NULL s appends nothing. */
/* HTML text and attribute values: & < > " ' become entities; control bytes become U+FFFD. */
int stats_html_escape(struct buf *out, const char *s);
/* A JSON string with its quotes; invalid UTF-8 becomes U+FFFD; NULL becomes null. */
int stats_json_str(struct buf *out, const char *s);
/* A Prometheus label value (without quotes): backslash, double quote and newline escaped; invalid UTF-8
 * becomes U+FFFD. */
int stats_prom_label(struct buf *out, const char *s);

#endif
