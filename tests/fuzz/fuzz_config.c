/* fuzz_config.c — libFuzzer target: trucker.yml and config.yml loaders on any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/diag.h"
#include "base/mem.h"
#include "../../src/config/internal.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the loader: even bytes feed the templated
 * connections file, odd ones a pipeline's config.yml checked against a fixed
 * set of connections.  file() and *_path reads resolve under a folder that
 * does not exist, so the fuzzer never touches real files.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char conns[] =
		"connections:\n"
		"  - {name: source, adapter: postgres}\n"
		"  - {name: lake, adapter: ducklake, catalog: c.ducklake, data_path: d}\n";
	trk_diags_t diags = {0};
	trk_config_t *cfg = trk_calloc(1, sizeof(*cfg));
	char		line[4096];

	if (size == 0)
	{
		trk_config_free(cfg);
		return 0;
	}
	cfg->dir = trk_strdup("/nonexistent-trucker-fuzz");
	cfg->file = trk_strdup("/nonexistent-trucker-fuzz/trucker.yml");
	if (data[0] % 2 == 0)
		trk_cfg_connections_from_text(cfg, cfg->file, (const char *) data + 1, size - 1, &diags);
	else
	{
		trk_pipeline_t p = {0};

		trk_cfg_connections_from_text(cfg, cfg->file, conns, sizeof(conns) - 1, &diags);
		trk_cfg_pipeline_from_text(cfg, true, "/nonexistent-trucker-fuzz/p/config.yml",
								   (const char *) data + 1, size - 1, &p, &diags);
		trk_cfg_pipeline_clear(&p);
	}
	/* every diagnostic must format */
	for (size_t i = 0; i < diags.n; i++)
		trk_diag_format(&diags.items[i], line, sizeof(line));
	trk_diags_free(&diags);
	trk_config_free(cfg);
	return 0;
}
