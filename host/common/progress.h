/*
 * progress.h - one progress line on stderr for long loops (training epochs,
 * evaluation, benchmarks).
 *
 * On a terminal the line is redrawn in place (at most 10 times a second):
 *
 *     epoch 3/30 [#####.....] 45% 27000/60000 img 287 img/s ETA 1m55s | loss 0.412 acc 0.871
 *
 * Otherwise (log file, CI) a plain line is printed at most every ~10 s, plus
 * the final one. MPBN_PROGRESS=0 turns progress off, MPBN_PROGRESS=1 forces
 * plain lines even on a terminal.
 *
 *     snn_progress p;
 *     snn_progress_begin(&p, "epoch 1/30", n_images, "img");
 *     for (...) {
 *         ...
 *         snprintf(extra, sizeof extra, "loss %.3f acc %.3f", loss, acc);
 *         snn_progress_update(&p, done, extra);
 *     }
 *     snn_progress_end(&p, extra);
 */
#ifndef SNN_PROGRESS_H
#define SNN_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SNN_PROGRESS_OFF = 0, /* print nothing */
    SNN_PROGRESS_PLAIN,   /* one line every ~10 s */
    SNN_PROGRESS_TTY,     /* one line redrawn in place */
} snn_progress_mode;

typedef struct snn_progress {
    char label[96];
    char unit[16];
    uint64_t total;
    uint64_t done;
    snn_progress_mode mode;
    double t_begin;     /* snn_now() at begin */
    double t_last_draw; /* snn_now() of the last line printed (or begin) */
    int drawn;          /* a TTY line is on screen and needs a final newline */
} snn_progress;

void snn_progress_begin(snn_progress *p, const char *label, uint64_t total, const char *unit);
/* done = units done so far; extra = free text (e.g. "loss 0.412 acc 0.871"),
 * may be NULL. Rate-limited: cheap to call every batch. */
void snn_progress_update(snn_progress *p, uint64_t done, const char *extra);
/* Before another message on stderr: ends a line redrawn in place (TTY),
 * so that the message starts on a line of its own; the next update draws
 * a new one. */
void snn_progress_break(snn_progress *p);
/* Final line with the total time and mean rate (always printed unless off). */
void snn_progress_end(snn_progress *p, const char *extra);

/* Format seconds as "45s", "2m13s", "1h05m" (for ETA and totals). */
void snn_progress_fmt_time(double seconds, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
