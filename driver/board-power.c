/*
 * board-power.c - the board-power sampler of the `xrt` backend: a thread
 * reads the card's power sensor from sysfs (the node `xbutil examine -r
 * electrical` reports: xmc_power of the xocl driver's xmc sub-device, else
 * hwmon power1_input, else the sum of the 12 V and 3.3 V rails), every 10 ms
 * while the device is open; board_power_mean() returns the mean since the
 * previous call, i.e. over the run just waited for. Needs nothing of XRT.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "xrt-internal.h"

#define POWER_PERIOD_NS 10000000L

static int file_exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static int read_num(const char *path, double *v)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fscanf(f, "%lf", v) == 1;
    fclose(f);
    return ok;
}

/* First file matching <dir>/<prefix>*<rest> (one level of wildcard). */
static int find_node(const char *dir, const char *prefix, const char *rest, char *out, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        snprintf(out, n, "%s/%s%s", dir, e->d_name, rest);
        found = file_exists(out);
    }
    closedir(d);
    return found;
}

static int power_read_w(const power_sampler *p, double *w)
{
    double v;
    if (p->node[0]) {
        if (!read_num(p->node, &v)) return 0;
        *w = v * 1e-6; /* microwatts */
        return 1;
    }
    double sum = 0;
    for (int r = 0; r < p->n_rails; r++) {
        double mv, ma;
        if (!read_num(p->rails[r][0], &mv) || !read_num(p->rails[r][1], &ma)) return 0;
        sum += mv * ma * 1e-6;
    }
    *w = sum;
    return p->n_rails > 0;
}

/* Locate the power sensor of the card at `bdf`, the pos-th card the device
 * opened. MPBN_XRT_POWER_NODE names files in microwatts explicitly (another
 * sensor, another driver), separated by commas: the pos-th is this card's; a
 * card past the end of the list looks in sysfs. */
static int power_find(power_sampler *p, const char *bdf, int pos)
{
    const char *env = getenv("MPBN_XRT_POWER_NODE");
    if (env && *env) {
        const char *e = env;
        for (int i = 0; i < pos && e; i++) {
            e = strchr(e, ',');
            if (e) e++;
        }
        if (e && *e) {
            size_t len = strcspn(e, ",");
            if (len >= sizeof p->node) return 0;
            snprintf(p->node, sizeof p->node, "%.*s", (int)len, e);
            return file_exists(p->node);
        }
    }
    if (!bdf[0]) return 0;
    char dev[256], sub[512];
    snprintf(dev, sizeof dev, "/sys/bus/pci/devices/%s", bdf);
    if (find_node(dev, "xmc.", "/xmc_power", p->node, sizeof p->node)) return 1;
    snprintf(sub, sizeof sub, "%s/hwmon", dev);
    if (find_node(sub, "hwmon", "/power1_input", p->node, sizeof p->node)) return 1;
    p->node[0] = 0;
    static const char *rails[3][2] = {{"xmc_12v_pex_vol", "xmc_12v_pex_curr"},
                                      {"xmc_12v_aux_vol", "xmc_12v_aux_curr"},
                                      {"xmc_3v3_pex_vol", "xmc_3v3_pex_curr"}};
    char xmc[512];
    DIR *d = opendir(dev);
    if (!d) return 0;
    struct dirent *e;
    xmc[0] = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "xmc.", 4) == 0) {
            snprintf(xmc, sizeof xmc, "%s/%s", dev, e->d_name);
            break;
        }
    closedir(d);
    if (!xmc[0]) return 0;
    p->n_rails = 0;
    for (int r = 0; r < 3; r++) {
        snprintf(p->rails[p->n_rails][0], 512, "%s/%s", xmc, rails[r][0]);
        snprintf(p->rails[p->n_rails][1], 512, "%s/%s", xmc, rails[r][1]);
        if (file_exists(p->rails[p->n_rails][0]) && file_exists(p->rails[p->n_rails][1]))
            p->n_rails++;
    }
    return p->n_rails > 0;
}

static void *power_thread(void *arg)
{
    power_sampler *p = arg;
    struct timespec ts = {0, POWER_PERIOD_NS};
    for (;;) {
        double w;
        int ok = power_read_w(p, &w);
        pthread_mutex_lock(&p->lock);
        int stop = p->stop;
        if (ok) {
            p->sum_w += w;
            p->n++;
            p->last_w = w;
        }
        pthread_mutex_unlock(&p->lock);
        if (stop) break;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

void board_power_start(power_sampler *p, const char *bdf, int pos)
{
    double w;
    if (!power_find(p, bdf, pos) || !power_read_w(p, &w)) return;
    pthread_mutex_init(&p->lock, NULL);
    p->stop = 0;
    if (pthread_create(&p->thread, NULL, power_thread, p) == 0)
        p->running = 1;
    else
        pthread_mutex_destroy(&p->lock);
}

void board_power_stop(power_sampler *p)
{
    if (!p->running) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    p->running = 0;
}

double board_power_mean(power_sampler *p)
{
    pthread_mutex_lock(&p->lock);
    double w = p->n ? p->sum_w / (double)p->n : p->last_w;
    p->sum_w = 0;
    p->n = 0;
    pthread_mutex_unlock(&p->lock);
    return w;
}
