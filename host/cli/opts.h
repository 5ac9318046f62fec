/*
 * opts.h - the command-line options of every `mpbn` subcommand: one table
 * per subcommand, one parser, a help text generated from the table, and the
 * one set of number parsers of the CLI.
 *
 * A table is an array of snn_opt built where the options live (the fields
 * are written in place), ended by SNN_O_END. The device options shared by
 * `eval` (deploy images), `compare` and `bench` are one fragment,
 * SNN_OPTS_DEVICE, so they have the same names, ranges and help everywhere.
 *
 *     uint32_t epochs = 10;
 *     const char *out = NULL, *pos[1];
 *     snn_opt tab[] = {
 *         SNN_O_U32("--epochs", "N", &epochs, 1, 100000, "epochs to train"),
 *         SNN_O_STR("--out", "FILE", &out, "checkpoint to write", .flags = SNN_OPTF_REQUIRED),
 *         SNN_O_END,
 *     };
 *     snn_opt_spec spec = {.cmd = "train", .synopsis = "[options] --out FILE",
 *                          .opts = tab, .pos = pos, .pos_name = "data set", .max_pos = 1};
 *     int rc = snn_opts_run(&spec, argc, argv);
 *     if (rc != SNN_OPTS_GO) return rc;    // --help (0) or a usage error (2)
 *
 * Accepted: `--opt value`, `--opt=value`, flags without a value, positional
 * arguments anywhere (and everything after `--`), `-h`/`--help` anywhere
 * (it wins over any error). A token that starts with `--` is never taken as
 * the value of the option before it (`--out --force` says "--out needs a
 * value"); `--out=--odd-name` passes such a value. Messages:
 *     unknown option '--bogus' (did you mean --batch?)
 *     --out needs a value
 *     bad value 'x' for --batch (range 1..65536)
 *     bad value 'x' for --augment (one of all|crop|flip|none)
 */
#ifndef SNN_OPTS_H
#define SNN_OPTS_H

#include <stdint.h>
#include <stdio.h>

#include "io/snn-data.h"
#include "snn-common.h"
#include "snn-dev.h"
#include "snn-pipe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum snn_opt_kind {
    SNN_OPT_END = 0, /* ends a table */
    SNN_OPT_GROUP,   /* a heading in the help (help = the title); not an option */
    SNN_OPT_FLAG,    /* no value: *(int *)field = 1 */
    SNN_OPT_STR,     /* *(const char **)field = the value (argv's memory), never empty */
    SNN_OPT_U32,     /* *(uint32_t *)field: an integer lo..hi */
    SNN_OPT_U64,     /* *(uint64_t *)field: an integer lo..hi */
    SNN_OPT_I32,     /* *(int32_t *)field: an integer lo..hi (hi <= INT32_MAX) */
    SNN_OPT_DOUBLE,  /* *(double *)field: a finite number dlo..dhi */
    SNN_OPT_ENUM,    /* *(uint32_t *)field = values[i] for the i-th word of choices */
    SNN_OPT_FUNC,    /* parse(value, field) checks and stores; snn_fail() says why not */
} snn_opt_kind;

#define SNN_OPTF_POW2 1u     /* integer kinds: a power of two as well */
#define SNN_OPTF_DEVICE 2u   /* only for a device backend (eval refuses it on --device float) */
#define SNN_OPTF_REQUIRED 4u /* must be given */

typedef struct snn_opt {
    const char *name;        /* "--batch" */
    snn_opt_kind kind;
    const char *meta;        /* the value in the help: "N", "DIR", "FILE" */
    void *field;             /* where the value goes (type by kind) */
    uint64_t lo, hi;         /* integer kinds */
    double dlo, dhi;         /* SNN_OPT_DOUBLE */
    const char *choices;     /* SNN_OPT_ENUM, and the help of SNN_OPT_FUNC: "a|b|c" */
    const uint32_t *values;  /* SNN_OPT_ENUM: the value of each choice (NULL: its index) */
    snn_status (*parse)(const char *value, void *field); /* SNN_OPT_FUNC */
    const char *def;         /* default in the help; NULL: the field's value before parsing */
    const char *help;        /* one sentence; "(range ..; default ..)" is appended */
    unsigned flags;          /* SNN_OPTF_* */
    const char *excludes;    /* the name of an option that may not be given with this one */
    /* written by the parser */
    int given;               /* the option was on the command line */
    char def_buf[48];        /* the field's value before parsing, for the help */
} snn_opt;

/* Typed table entries: a field of the wrong type is a compile-time warning. */
#define SNN_OPT_FIELD_(T, p) ((void *)(1 ? (p) : (T *)0))
#define SNN_O_END {.name = NULL, .kind = SNN_OPT_END}
#define SNN_O_GROUP(title) {.name = "", .kind = SNN_OPT_GROUP, .help = (title)}
#define SNN_O_FLAG(n, p, h, ...)                                                                   \
    {.name = (n), .kind = SNN_OPT_FLAG, .field = SNN_OPT_FIELD_(int, p), .help = (h), __VA_ARGS__}
#define SNN_O_STR(n, m, p, h, ...)                                                                 \
    {.name = (n), .kind = SNN_OPT_STR, .meta = (m), .field = SNN_OPT_FIELD_(const char *, p),     \
     .help = (h), __VA_ARGS__}
#define SNN_O_U32(n, m, p, l, u, h, ...)                                                           \
    {.name = (n), .kind = SNN_OPT_U32, .meta = (m), .field = SNN_OPT_FIELD_(uint32_t, p),         \
     .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define SNN_O_U64(n, m, p, l, u, h, ...)                                                           \
    {.name = (n), .kind = SNN_OPT_U64, .meta = (m), .field = SNN_OPT_FIELD_(uint64_t, p),         \
     .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define SNN_O_I32(n, m, p, l, u, h, ...)                                                           \
    {.name = (n), .kind = SNN_OPT_I32, .meta = (m), .field = SNN_OPT_FIELD_(int32_t, p),          \
     .lo = (l), .hi = (u), .help = (h), __VA_ARGS__}
#define SNN_O_DOUBLE(n, m, p, l, u, h, ...)                                                        \
    {.name = (n), .kind = SNN_OPT_DOUBLE, .meta = (m), .field = SNN_OPT_FIELD_(double, p),        \
     .dlo = (l), .dhi = (u), .help = (h), __VA_ARGS__}
#define SNN_O_ENUM(n, m, p, ch, vals, h, ...)                                                      \
    {.name = (n), .kind = SNN_OPT_ENUM, .meta = (m), .field = SNN_OPT_FIELD_(uint32_t, p),        \
     .choices = (ch), .values = (vals), .help = (h), __VA_ARGS__}
#define SNN_O_FUNC(n, m, p, fn, h, ...)                                                            \
    {.name = (n), .kind = SNN_OPT_FUNC, .meta = (m), .field = (p), .parse = (fn), .help = (h),   \
     __VA_ARGS__}

/* Every command that writes a file has it. */
#define SNN_O_FORCE(p) SNN_O_FLAG("--force", p, "replace an existing regular file of another kind")

/* N random images instead of a data set (compare, bench). */
#define SNN_O_RANDOM(p)                                                                            \
    SNN_O_U32("--random", "N", p, 1, 1u << 24,                                                     \
              "N random images instead of a data set (no accuracy; --seed picks them)", .def = "off")

/* The device options of eval (a deploy image), compare and bench: dev is an
 * snn_dev_opts * (include/snn-dev.h), data a const char **, limit a uint32_t *.
 * --config picks a configuration of the layer pipeline (one of mk/sim.mk's
 * this build knows, include/snn-pipe.h, checked while parsing): the RTL
 * kernel's library for sim, the HLS kernel's build for csim. (--lanes, of the
 * HLS kernel before it became the layer pipeline, is a usage error that says
 * so: host/cli/opts.c.) */
#define SNN_OPTS_DEVICE(dev, data, limit)                                                          \
    SNN_O_GROUP("data and device options (the same for eval of a deploy image, compare and "       \
                "bench)"),                                                                         \
    SNN_O_STR("--data", "DIR", data, "IDX data set directory", .def = SNN_DATA_DEFAULT_DIR),       \
    SNN_O_U32("--limit", "N", limit, 0, UINT32_MAX, "first N images of the data set (0 = all)"),   \
    SNN_O_U32("--batch", "N", &(dev)->batch, 1, 65536,                                             \
              "images per kernel run (compare: per comparison chunk too)"),                        \
    SNN_O_FUNC("--config", "NAME", &(dev)->config, snn_opts_pipe_config,                           \
               "sim, csim: configuration NAME of the layer pipeline (PIPE_PARAMS_NAME in "      \
               "mk/sim.mk): sim runs build/sim/libsnn-sim-pipe-NAME.so (`make sim-pipe "         \
               "PIPE_CONFIGS=NAME`), csim the HLS kernel built with it (hls/)",                  \
               .choices = snn_pipe_config_names(), .def = SNN_PIPE_DEFAULT_CONFIG,                 \
               .flags = SNN_OPTF_DEVICE),                                                          \
    SNN_O_STR("--xclbin", "FILE", &(dev)->xclbin, "xrt: the card image (.xclbin)",                \
              .flags = SNN_OPTF_DEVICE),                                                           \
    SNN_O_I32("--device-index", "N", &(dev)->device_index, 0, 1024, "xrt: which card",             \
              .flags = SNN_OPTF_DEVICE),                                                           \
    SNN_O_FUNC("--cards", "all|LIST", &(dev)->cards, snn_dev_cards_parse,                          \
               "xrt: the cards to run on at once: all (every card present) or a comma-separated " \
               "LIST of card indices (range 0..1024, at most 16, no repeats; e.g. 0,2); the "     \
               "xclbin is loaded on each and the images are spread over every compute unit of " \
               "every card",                                                                       \
               .def = "the --device-index card, 0", .excludes = "--device-index",                 \
               .flags = SNN_OPTF_DEVICE),                                                          \
    SNN_O_U32("--timeout-ms", "N", &(dev)->timeout_ms, 1, UINT32_MAX,                              \
              "time limit of one kernel run (sim: read as kernel time at 100 MHz)",                \
              .flags = SNN_OPTF_DEVICE),                                                           \
    SNN_O_U32("--mem-latency", "N", &(dev)->mem_latency, 0, 65536,                                 \
              "sim: AXI read latency in cycles (0 = the model's 32)", .flags = SNN_OPTF_DEVICE),   \
    SNN_O_U32("--backpressure", "P", &(dev)->backpressure, 0, 90,                                  \
              "sim: percent of memory cycles stalled", .flags = SNN_OPTF_DEVICE),                  \
    SNN_O_U64("--seed", "S", &(dev)->seed, 0, UINT64_MAX,                                          \
              "seed of the sim back-pressure pattern, and of --random images and --random-net "    \
              "networks where the command has them",                                               \
              .flags = SNN_OPTF_DEVICE),                                                           \
    SNN_O_STR("--waveform", "FILE", &(dev)->waveform,                                              \
              "sim: write an FST waveform of the run to FILE (default $MPBN_SIM_WAVEFORM)",        \
              .flags = SNN_OPTF_DEVICE)

typedef struct snn_opt_spec {
    const char *cmd;      /* "train" */
    const char *synopsis; /* what follows "usage: mpbn <cmd> " */
    const char *about;    /* paragraph after the usage line (may hold '\n'), or NULL */
    snn_opt *opts;        /* ended by SNN_O_END */
    const char *pos_name; /* a positional argument in messages: "model file" */
    const char **pos;     /* receives the positional arguments (max_pos entries) */
    int min_pos, max_pos;
    int n_pos;            /* written by the parser */
    int defaults_taken;   /* written by the parser: def_buf holds the defaults */
} snn_opt_spec;

#define SNN_OPTS_GO (-1)

/* Parse argv[1..argc-1] and print what the user asked for or got wrong:
 * returns SNN_OPTS_GO to carry on, 0 after printing the help on stdout
 * (-h/--help), 2 after a usage error on stderr ("mpbn <cmd>: <message>"
 * and the usage line). */
int snn_opts_run(snn_opt_spec *spec, int argc, char **argv);

/* The same without printing: SNN_ERR_ARG and a message (snn_last_error) on
 * a usage error; *help = 1 if -h/--help was given (then the status is SNN_OK
 * whatever else was wrong). */
snn_status snn_opts_parse(snn_opt_spec *spec, int argc, char **argv, int *help);

/* The help text: usage line, about, every option with its value, help,
 * range and default, then -h/--help. */
void snn_opts_help(const snn_opt_spec *spec, FILE *f);

/* Print text from column col (the cursor's), wrapped at 100 columns;
 * continuation lines start at column indent; ends the line. */
void snn_opts_wrap(FILE *f, const char *text, int col, int indent);

/* A usage error found after parsing: prints "mpbn <cmd>: <message>" and the
 * usage line on stderr, returns 2. */
int snn_opts_usage_error(const snn_opt_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* SNN_O_FUNC parser of --config (SNN_OPTS_DEVICE): a configuration of the
 * layer-pipeline kernel this build knows (snn_pipe_config_find); stores the
 * name (a const char *). */
snn_status snn_opts_pipe_config(const char *value, void *field);

/* The entry named name ("--config"), or NULL. */
const snn_opt *snn_opts_find(const snn_opt_spec *spec, const char *name);
/* Whether the option named name was given. */
int snn_opts_given(const snn_opt_spec *spec, const char *name);

/* Set by tests/fuzz/fuzz-cli.c: snn_opts_run parses and prints nothing;
 * it returns 0 (parsed, or help) or 2 (usage error), never SNN_OPTS_GO, so
 * a command returns right after its option table was parsed. */
extern int snn_opts_parse_only;

/* ---- numbers: the only parsers of command-line numbers ------------------ */

/* Decimal, or hexadecimal with a 0x prefix; no sign, no space, nothing after
 * the digits; lo <= value <= hi. SNN_ERR_ARG with a message otherwise. */
snn_status snn_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v);
snn_status snn_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v);
/* A finite decimal number lo..hi (strtod syntax without leading space). */
snn_status snn_parse_double(const char *s, double lo, double hi, double *v);

#ifdef __cplusplus
}
#endif
#endif
