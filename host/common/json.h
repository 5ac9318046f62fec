/*
 * json.h - build the one-line JSON object a subcommand prints as its last
 * line on stdout. Keys and values are appended in call order; strings are
 * escaped; non-finite numbers become null (JSON has no NaN).
 *
 *     snn_json *j = snn_json_new();
 *     snn_json_str(j, "device", "float");
 *     snn_json_num(j, "accuracy", 0.9312);
 *     snn_json_int(j, "images", 10000);
 *     snn_json_raw(j, "per_epoch", "[0.85,0.88]");
 *     puts(snn_json_finish(j));   // {"device":"float","accuracy":0.9312,...}
 *     snn_json_free(j);
 *
 * Out of memory is not reported per call: the builder remembers it and
 * snn_json_finish() returns NULL.
 */
#ifndef SNN_JSON_H
#define SNN_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snn_json snn_json; /* growable buffer */

snn_json *snn_json_new(void);
void snn_json_str(snn_json *j, const char *key, const char *val); /* escapes; NULL val -> null */
void snn_json_int(snn_json *j, const char *key, int64_t v);
void snn_json_num(snn_json *j, const char *key, double v); /* %.6g; NaN/inf -> null */
void snn_json_bool(snn_json *j, const char *key, int v);
void snn_json_raw(snn_json *j, const char *key, const char *json); /* pre-rendered value */
/* Returns "{...}" (owned by j, valid until snn_json_free); NULL if out of memory.
 * Further calls after finish are ignored. */
const char *snn_json_finish(snn_json *j);
void snn_json_free(snn_json *j);
/* Print the object as one stdout line and free j: the last line of every
 * subcommand. Returns 0, or 1 (nothing printed) if it ran out of memory. */
int snn_json_print(snn_json *j);

/* Append val as a quoted, escaped JSON string to buf (size bytes, always
 * NUL-terminated); returns the length the full result needs, like snprintf.
 * Handy for pre-rendering arrays of strings for snn_json_raw. */
size_t snn_json_escape(char *buf, size_t size, const char *val);

#ifdef __cplusplus
}
#endif
#endif
