/* progress.c - progress line on stderr: in-place on a terminal, sparse plain lines otherwise. */
#include "progress.h"

#include "snn-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Redraw interval on a terminal: fast enough to look live, slow enough that
 * printing never shows up in a profile. */
#define TTY_INTERVAL 0.1
/* Plain lines end up in log files; one every 10 s keeps them short. */
#define PLAIN_INTERVAL 10.0
#define BAR_WIDTH 20

void snn_progress_fmt_time(double s, char *buf, size_t size)
{
    if (!(s >= 0)) s = 0; /* also catches NaN */
    if (s > 359999) s = 359999;
    int t = (int)(s + 0.5);
    int n; /* checked so that a too-small buffer is visible, not silent */
    if (t < 60)
        n = snprintf(buf, size, "%ds", t);
    else if (t < 3600)
        n = snprintf(buf, size, "%dm%02ds", t / 60, t % 60);
    else
        n = snprintf(buf, size, "%dh%02dm", t / 3600, (t % 3600) / 60);
    if (n < 0 || (size_t)n >= size) SNN_ASSERT(!"time buffer too small");
}

static snn_progress_mode progress_mode(void)
{
    const char *env = getenv("MPBN_PROGRESS");
    if (env && env[0] == '0' && env[1] == 0) return SNN_PROGRESS_OFF;
    if (env && env[0] == '1' && env[1] == 0) return SNN_PROGRESS_PLAIN;
    return isatty(2) ? SNN_PROGRESS_TTY : SNN_PROGRESS_PLAIN;
}

void snn_progress_begin(snn_progress *p, const char *label, uint64_t total, const char *unit)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->total = total;
    p->mode = progress_mode();
    p->t_begin = snn_now();
    p->t_last_draw = p->t_begin;
}

/* Compose the whole line in one buffer and write it with one fputs, so that a
 * concurrent message on stderr cannot land in the middle of it. */
static void progress_draw(snn_progress *p, double now, const char *extra, int final)
{
    char line[512], eta[32], rate_s[32];
    size_t n = 0;
    double el = now - p->t_begin;
    double rate = el > 0 ? (double)p->done / el : 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < sizeof line) n += (size_t)snprintf(line + n, sizeof line - n, __VA_ARGS__);        \
    } while (0)
    if (p->mode == SNN_PROGRESS_TTY) ADD("\r");
    if (p->label[0]) ADD("%s ", p->label);
    if (p->total > 0) {
        uint64_t d = p->done < p->total ? p->done : p->total;
        int fill = (int)((double)d / (double)p->total * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = 0;
        ADD("[%s] %3d%% %llu/%llu", bar, (int)(100.0 * (double)d / (double)p->total),
            (unsigned long long)p->done, (unsigned long long)p->total);
    } else {
        ADD("%llu", (unsigned long long)p->done);
    }
    if (p->unit[0]) ADD(" %s", p->unit);
    if (rate >= 100)
        snprintf(rate_s, sizeof rate_s, "%.0f", rate);
    else
        snprintf(rate_s, sizeof rate_s, "%.3g", rate);
    if (final) {
        snn_progress_fmt_time(el, eta, sizeof eta);
        ADD(" %s %s/s in %s", rate_s, p->unit[0] ? p->unit : "it", eta);
    } else {
        ADD(" %s %s/s", rate_s, p->unit[0] ? p->unit : "it");
        if (p->total > 0 && rate > 0 && p->done < p->total) {
            snn_progress_fmt_time((double)(p->total - p->done) / rate, eta, sizeof eta);
            ADD(" ETA %s", eta);
        }
    }
    if (extra && extra[0]) ADD(" | %s", extra);
    /* ESC[K clears what a longer previous line left behind. */
    if (p->mode == SNN_PROGRESS_TTY) ADD("\033[K");
    if (p->mode != SNN_PROGRESS_TTY || final) ADD("\n");
#undef ADD
    if (n >= sizeof line) {
        /* Truncated (very long extra): keep the line ending intact. */
        n = sizeof line - 1;
        if (p->mode != SNN_PROGRESS_TTY || final) line[n - 1] = '\n';
    }
    fputs(line, stderr);
    fflush(stderr);
    p->t_last_draw = now;
    p->drawn = p->mode == SNN_PROGRESS_TTY && !final;
}

void snn_progress_update(snn_progress *p, uint64_t done, const char *extra)
{
    p->done = done;
    if (p->mode == SNN_PROGRESS_OFF) return;
    double now = snn_now();
    double interval = p->mode == SNN_PROGRESS_TTY ? TTY_INTERVAL : PLAIN_INTERVAL;
    if (now - p->t_last_draw < interval) return;
    progress_draw(p, now, extra, 0);
}

void snn_progress_break(snn_progress *p)
{
    if (p->drawn) fputc('\n', stderr);
    p->drawn = 0;
}

void snn_progress_end(snn_progress *p, const char *extra)
{
    if (p->mode == SNN_PROGRESS_OFF) return;
    progress_draw(p, snn_now(), extra, 1);
    p->drawn = 0;
}
