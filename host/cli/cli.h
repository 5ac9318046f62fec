/*
 * cli.h - the `mpbn` subcommands. Each lives in host/cli/cmd-<name>.c and is
 * called by host/cli/main.c with argv[0] = the subcommand name. A subcommand
 * returns the process exit status: 0 on success, 1 on a user error (message
 * on stderr), 2 on a usage error. Its last line on stdout is one JSON object.
 */
#ifndef SNN_CLI_H
#define SNN_CLI_H

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

/* `mpbn eval` of a deploy image (.snn) on device ref|csim|sim|xrt
 * (host/cli/eval-device.c). Called by snn_cmd_eval with the options it parsed
 * (the device fragment of host/cli/opts.h): data directory (NULL = default),
 * image limit (0 = all), device options, and whether --batch was given;
 * device is never NULL ("ref" unless --device says otherwise). Returns the
 * exit status and prints the eval JSON line itself. */
struct snn_dev_opts;
int snn_eval_device(const char *model_path, const char *device, const char *data, uint32_t limit,
                    const struct snn_dev_opts *opts, int batch_given);

#endif
