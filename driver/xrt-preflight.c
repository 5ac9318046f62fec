/*
 * xrt-preflight.c - what the `xrt` backend (dev-xrt.c) checks before XRT is
 * touched, and how it loads XRT.
 *
 * XRT 2.13 (Debian 12's libxrt1) throws from inside xrtDeviceOpen, and the
 * process aborts, when XILINX_XRT is unset or $XILINX_XRT/lib lacks the shim
 * library (libxrt_core.so.2), and crashes in emulation mode without an
 * emconfig.json; every one of these is therefore checked here first and
 * reported as an snn_status, as is the xclbin itself (an axlf container,
 * complete, built for the mode XRT will run in). See docs/running-on-alveo.md.
 *
 * XRT is loaded with dlopen (why: dev-xrt.c), its entry points typed by the
 * XRT headers (xrt-internal.h).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snn-regmap.h"
#include "xrt-internal.h"

#ifdef SNN_HAVE_XRT_HEADERS

#define XRT_LIB "libxrt_coreutil.so.2"
/* Largest card image accepted: XRT reads the whole file; a real one is tens
 * to a few hundred MiB. */
#define XCLBIN_MAX_BYTES ((uint64_t)2 << 30)

/* ---- checks before XRT is touched --------------------------------------- */

static int file_exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static int dir_exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

static const char *xclbin_mode_str(uint16_t m)
{
    switch (m) {
    case XCLBIN_FLAT:
        return "hw (flat)";
    case XCLBIN_PR:
        return "hw (partial reconfiguration)";
    case XCLBIN_TANDEM_STAGE2:
        return "hw (tandem stage 2)";
    case XCLBIN_TANDEM_STAGE2_WITH_PR:
        return "hw (tandem stage 2 + PR)";
    case XCLBIN_HW_EMU:
        return "hw_emu";
    case XCLBIN_SW_EMU:
        return "sw_emu";
    case XCLBIN_HW_EMU_PR:
        return "hw_emu (PR)";
    default:
        return "unknown";
    }
}

static int xclbin_mode_is_emu(uint16_t m, const char **which)
{
    if (m == XCLBIN_HW_EMU || m == XCLBIN_HW_EMU_PR) {
        *which = "hw_emu";
        return 1;
    }
    if (m == XCLBIN_SW_EMU) {
        *which = "sw_emu";
        return 1;
    }
    *which = NULL;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Names of the compute units of snn_kernel, from the IP_LAYOUT section
 * ("snn_kernel:snn_kernel_1" -> "snn_kernel_1"). Returns 0 if a section
 * header points outside the file. */
static int list_cus(FILE *f, const struct axlf *a, uint64_t file_size, xrt_xclbin_info *c)
{
    c->n_cu_names = 0;
    int ok = 1;
    uint64_t sec0 = offsetof(struct axlf, m_sections);
    for (uint32_t i = 0; ok && i < a->m_header.m_numSections && i < 4096; i++) {
        struct axlf_section_header h;
        if (fseek(f, (long)(sec0 + (uint64_t)i * sizeof h), SEEK_SET) != 0 ||
            fread(&h, sizeof h, 1, f) != 1) {
            ok = 0;
            break;
        }
        if (h.m_sectionOffset > file_size || h.m_sectionSize > file_size - h.m_sectionOffset) {
            ok = 0;
            break;
        }
        if (h.m_sectionKind != IP_LAYOUT || h.m_sectionSize < 8) continue;
        int32_t count;
        if (fseek(f, (long)h.m_sectionOffset, SEEK_SET) != 0 || fread(&count, 4, 1, f) != 1) {
            ok = 0;
            break;
        }
        uint64_t first = offsetof(struct ip_layout, m_ip_data);
        for (int32_t k = 0; k < count; k++) {
            struct ip_data d;
            uint64_t at = first + (uint64_t)k * sizeof d;
            if (at + sizeof d > h.m_sectionSize) break;
            if (fseek(f, (long)(h.m_sectionOffset + at), SEEK_SET) != 0 ||
                fread(&d, sizeof d, 1, f) != 1)
                break;
            char name[65];
            memcpy(name, d.m_name, 64);
            name[64] = 0;
            const char *prefix = SNN_KERNEL_NAME ":";
            if (d.m_type != IP_KERNEL || strncmp(name, prefix, strlen(prefix)) != 0) continue;
            if (c->n_cu_names < MAX_CU)
                snprintf(c->cu_names[c->n_cu_names++], sizeof c->cu_names[0], "%s",
                         name + strlen(prefix));
        }
    }
    qsort(c->cu_names, (size_t)c->n_cu_names, sizeof c->cu_names[0], cmp_name);
    return ok;
}

snn_status xrt_check_xclbin(const char *path, xrt_xclbin_info *c)
{
    if (!path || !*path)
        return snn_fail(
            SNN_ERR_ARG,
            "no card image given: pass --xclbin FILE.xclbin (build one with `make xclbin "
            "TARGET=hw PLATFORM=<your card's platform>`, see docs/running-on-alveo.md)");
    struct stat s;
    if (stat(path, &s) != 0)
        return snn_fail(SNN_ERR_IO,
                        "xclbin '%s': %s (check the path; `make xclbin` writes "
                        "build/xclbin/<TARGET>/<PLATFORM>/snn_kernel.xclbin)",
                        path, strerror(errno));
    if (!S_ISREG(s.st_mode))
        return snn_fail(SNN_ERR_IO, "xclbin '%s' is not a regular file (pass the .xclbin itself)",
                        path);
    /* Regular files only (XRT reads the whole file: never a FIFO or a
     * device), at most XCLBIN_MAX_BYTES. */
    FILE *f;
    uint64_t fsize;
    snn_status fst = snn_file_open_read(path, XCLBIN_MAX_BYTES, &f, &fsize);
    if (fst != SNN_OK) return snn_fail_context(fst, "xclbin (pass the .xclbin itself)");
    struct axlf a;
    size_t got = fread(&a, 1, sizeof a, f);
    int cus_ok = got == sizeof a && a.m_header.m_length == fsize && list_cus(f, &a, fsize, c);
    fclose(f);
    if (got < 8 || memcmp(a.m_magic, "xclbin2", 8) != 0)
        return snn_fail(
            SNN_ERR_FORMAT,
            "'%s' is not an xclbin (no \"xclbin2\" magic at offset 0): pass the card "
            "image that `v++ --link` wrote, not the kernel .xo or the deploy image .snn",
            path);
    if (got < sizeof a)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is truncated (%zu bytes, the header alone is %zu)", path, got,
                        sizeof a);
    if (a.m_header.m_length != fsize)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is truncated or padded: its header says %llu bytes, the file "
                        "has %llu (copy it again)",
                        path, (unsigned long long)a.m_header.m_length, (unsigned long long)fsize);
    if (!cus_ok)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is corrupt: a section lies outside the file (copy it again)",
                        path);
    memcpy(c->platform, a.m_header.m_platformVBNV, 64);
    c->platform[64] = 0;
    if (!c->platform[0])
        snprintf(c->platform, sizeof c->platform, "<PLATFORM>");
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *need;
    int is_emu = xclbin_mode_is_emu(a.m_header.m_mode, &need);
    if (is_emu && (!emu || strcmp(emu, need) != 0))
        return snn_fail(
            SNN_ERR_ARG,
            "xclbin '%s' was built for %s (TARGET=%s), not for a card: set "
            "XCL_EMULATION_MODE=%s and put emconfig.json (`emconfigutil --platform %s`) "
            "in $EMCONFIG_PATH, or pass an xclbin built with TARGET=hw",
            path, xclbin_mode_str(a.m_header.m_mode), need, need, c->platform);
    if (!is_emu && emu && *emu)
        return snn_fail(SNN_ERR_ARG,
                        "XCL_EMULATION_MODE=%s is set but xclbin '%s' is a %s image for a real "
                        "card: unset XCL_EMULATION_MODE, or pass an xclbin built with TARGET=%s",
                        emu, path, xclbin_mode_str(a.m_header.m_mode), emu);
    return SNN_OK;
}

/* XRT finds its shim (the library that talks to the xocl driver, or the
 * emulator) as $XILINX_XRT/lib/<shim>; if that fails it throws where nobody
 * catches it and the process aborts. */
snn_status xrt_check_env(char *libdir, size_t n)
{
    const char *x = getenv("XILINX_XRT");
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *shim = "libxrt_core.so.2";
    if (emu && strcmp(emu, "hw_emu") == 0) shim = "libxrt_hwemu.so.2";
    if (emu && strcmp(emu, "sw_emu") == 0) shim = "libxrt_swemu.so.2";
    if (!x || !*x)
        return snn_fail(SNN_ERR_DEVICE,
                        "XILINX_XRT is not set: XRT loads its driver library %s from "
                        "$XILINX_XRT/lib. With AMD's XRT package run `source "
                        "/opt/xilinx/xrt/setup.sh`; with Debian's libxrt1 make a prefix: `mkdir -p "
                        "$HOME/xrt && ln -sfn /usr/lib/x86_64-linux-gnu $HOME/xrt/lib && export "
                        "XILINX_XRT=$HOME/xrt` (docs/running-on-alveo.md)",
                        shim);
    snprintf(libdir, n, "%s/lib", x);
    if (!dir_exists(libdir))
        return snn_fail(SNN_ERR_DEVICE,
                        "XILINX_XRT=%s has no lib/ directory, where XRT looks for %s: point "
                        "XILINX_XRT at the XRT install prefix (/opt/xilinx/xrt for AMD's package; "
                        "for Debian's libxrt1 a prefix whose lib -> /usr/lib/x86_64-linux-gnu, "
                        "docs/running-on-alveo.md)",
                        x, shim);
    char p[600];
    snprintf(p, sizeof p, "%s/%s", libdir, shim);
    if (!file_exists(p))
        return snn_fail(SNN_ERR_DEVICE,
                        "XILINX_XRT=%s: %s not found: XRT needs its %s library there (install XRT: "
                        "Debian package libxrt1 or AMD's xrt package; with Debian's, make lib a "
                        "link to /usr/lib/x86_64-linux-gnu, docs/running-on-alveo.md)",
                        x, p, emu && *emu ? emu : "driver");
    if (emu && *emu) {
        /* XRT's emulation shims crash without emconfig.json (XRT 2.13). */
        const char *ec = getenv("EMCONFIG_PATH");
        char q[600] = "";
        if (ec && *ec) {
            snprintf(q, sizeof q, "%s/emconfig.json", ec);
        } else {
            char exe[512];
            ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
            if (k > 0) {
                exe[k] = 0;
                char *slash = strrchr(exe, '/');
                if (slash) *slash = 0;
                snprintf(q, sizeof q, "%s/emconfig.json", exe);
            }
        }
        if (!file_exists(q))
            return snn_fail(
                SNN_ERR_DEVICE,
                "XCL_EMULATION_MODE=%s but %s does not exist: create it with "
                "`emconfigutil --platform <PLATFORM> --od DIR` and set EMCONFIG_PATH=DIR "
                "(`make xclbin TARGET=%s` does both under build/xclbin/)",
                emu, q[0] ? q : "emconfig.json", emu);
    }
    return SNN_OK;
}

snn_status xrt_load_api(xrt_api *api, const char *libdir)
{
    const char *tried1 = NULL;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", libdir, XRT_LIB);
    if (file_exists(p)) {
        tried1 = p;
        api->lib = dlopen(p, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    }
    if (!api->lib) {
        api->lib = dlopen(XRT_LIB, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        snprintf(api->path, sizeof api->path, "%s", XRT_LIB);
    } else {
        snprintf(api->path, sizeof api->path, "%s", p);
    }
    if (!api->lib)
        return snn_fail(SNN_ERR_DEVICE,
                        "cannot load the XRT library %s%s%s: %s (install XRT: `apt-get install "
                        "libxrt1` or AMD's xrt package)",
                        XRT_LIB, tried1 ? " (also tried " : "", tried1 ? ")" : "", dlerror());
#define X(f)                                                                                       \
    *(void **)&api->f = dlsym(api->lib, #f);                                                       \
    if (!api->f)                                                                                   \
        return snn_fail(SNN_ERR_DEVICE, "%s has no %s: this XRT is too old (need 2.9 or newer)",   \
                        api->path, #f);
    XRT_FUNCS(X)
#undef X
    *(void **)&api->set_arg_raw = dlsym(api->lib, "_Z13xrtRunSetArgVPviPKvm");
    return SNN_OK;
}

/* ---- cards visible to the xocl driver ---------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PCIe functions bound to xocl (the user function of each card), sorted by
 * address: the order in which XRT numbers devices. Returns the count and
 * copies the BDF of `index` to bdf (empty if absent). */
int xrt_xocl_devices(int index, char *bdf, size_t n)
{
    bdf[0] = 0;
    DIR *d = opendir("/sys/bus/pci/drivers/xocl");
    if (!d) return 0;
    char *names[64];
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 64)
        if (strchr(e->d_name, ':') && strchr(e->d_name, '.')) names[k++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)k, sizeof names[0], cmp_str);
    if (index >= 0 && index < k) snprintf(bdf, n, "%s", names[index]);
    for (int i = 0; i < k; i++)
        free(names[i]);
    return k;
}

#endif /* SNN_HAVE_XRT_HEADERS */
