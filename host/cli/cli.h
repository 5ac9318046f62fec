/*
 * cli.h - the `mpbn` subcommands. Each lives in host/cli/cmd-<name>.c and is
 * called by host/cli/main.c with argv[0] = the subcommand name. A subcommand
 * returns the process exit status: 0 on success, 1 on a user error (message
 * on stderr), 2 on a usage error. Its last line on stdout is one JSON object.
 */
#ifndef SNN_CLI_H
#define SNN_CLI_H

#include <stddef.h>
#include <stdint.h>

/* The version of mpbn (`mpbn --version`, `mpbn version`, which also print
 * the deploy image format version, SNN_DEPLOY_VERSION_* in include/snn-deploy-format.h). */
#define SNN_VERSION "1.0.0"

int snn_cmd_train(int argc, char **argv);   /* host/cli/cmd-train.c */
int snn_cmd_eval(int argc, char **argv);    /* host/cli/cmd-eval.c */
int snn_cmd_fold(int argc, char **argv);    /* host/cli/cmd-fold.c */
int snn_cmd_info(int argc, char **argv);    /* host/cli/cmd-info.c */
int snn_cmd_compare(int argc, char **argv); /* host/cli/cmd-compare.c */
int snn_cmd_bench(int argc, char **argv);   /* host/cli/cmd-bench.c */
int snn_cmd_landscape(int argc, char **argv); /* host/cli/cmd-landscape.c */

/* `mpbn eval` of a deploy image (.snn) on device ref|csim|sim|xrt
 * (host/cli/eval-device.c). Called by snn_cmd_eval with the options it parsed
 * (the device fragment of host/cli/opts.h): data directory (NULL = default),
 * image limit (0 = all), device options, and whether --batch was given;
 * device is never NULL ("ref" unless --device says otherwise). Returns the
 * exit status and prints the eval JSON line itself. */
struct snn_dev_opts;
int snn_eval_device(const char *model_path, const char *device, const char *data, uint32_t limit,
                    const struct snn_dev_opts *opts, int batch_given);

/* Under mpirun (host/common/snn-mpi.h; host/cli/eval-device.c), for eval and
 * bench: this rank's share of n images, [*first, *first + *count), contiguous
 * blocks in rank order (the first n % ranks ranks take one image more); the
 * card rule (--device xrt without --cards or --device-index: card `local
 * rank`, the rank's place on its host); "rank R (card C): " for messages ("" in
 * one process); and the agreement after a step that may fail on some ranks:
 * returns 1 on every rank if any failed, the lowest failing one having
 * printed "mpbn CMD: <who><err>". */
void snn_rank_share(uint32_t n, uint32_t *first, uint32_t *count);
void snn_rank_card(const char *device, struct snn_dev_opts *o, int index_given);
void snn_rank_who(char *buf, size_t cap, const char *device, const struct snn_dev_opts *o);
int snn_rank_agree(const char *cmd, int failed, const char *who, const char *err);
/* After snn_rank_card chose the card: a hint for a card that does not open
 * (the rule and how to override it); "" otherwise. */
const char *snn_rank_card_hint(void);

#endif
