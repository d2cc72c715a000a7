/*
 * graph.c — pipelines as a graph: chains are allowed, cycles are not.
 *
 * A pipeline may write into a database another pipeline reads, so that the
 * second one follows the first one's output (layered tables).  Following
 * outputs to inputs must never lead back to where it started: every change
 * would come round again, forever.  Two connections are the same database
 * when their host, port and database are; a table is a node of the graph,
 * a pipeline an edge from its input table to its output table.
 */
#include "config/config.h"
#include "base/buf.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

/* same_database: a and b reach the same PostgreSQL database */
static bool
same_database(const trk_connection_t *a, const trk_connection_t *b)
{
	if (a == b)
		return true;
	if (a->adapter != TRK_ADAPTER_POSTGRES || b->adapter != TRK_ADAPTER_POSTGRES)
		return false;
	return strcmp(a->primary.host ? a->primary.host : "", b->primary.host ? b->primary.host : "") == 0 &&
		a->primary.port == b->primary.port &&
		strcmp(a->primary.database ? a->primary.database : "",
			   b->primary.database ? b->primary.database : "") == 0;
}

/* feeds: pipeline a's output is pipeline b's input */
static bool
feeds(const trk_config_t *cfg, const trk_pipeline_t *a, const trk_pipeline_t *b)
{
	const trk_connection_t *out = trk_config_connection(cfg, a->output_connection);
	const trk_connection_t *in = trk_config_connection(cfg, b->input_connection);

	return out != NULL && in != NULL && same_database(out, in) &&
		strcmp(a->output_table.schema, b->input_table.schema) == 0 &&
		strcmp(a->output_table.name, b->input_table.name) == 0;
}

enum
{
	WHITE = 0, GREY, BLACK
};

/* visit: depth first; on a grey pipeline the path from it back to it is a cycle */
static bool
visit(const trk_config_t *cfg, size_t i, int *color, size_t *path, size_t depth,
	  size_t *cycle, size_t *ncycle)
{
	color[i] = GREY;
	path[depth] = i;
	for (size_t j = 0; j < cfg->npipelines; j++)
	{
		if (!feeds(cfg, &cfg->pipelines[i], &cfg->pipelines[j]))
			continue;
		if (color[j] == GREY)
		{
			size_t		k = depth + 1;

			while (k > 0 && path[k - 1] != j)
				k--;
			*ncycle = 0;
			for (size_t m = k - 1; m <= depth; m++)
				cycle[(*ncycle)++] = path[m];
			return true;
		}
		if (color[j] == WHITE && visit(cfg, j, color, path, depth + 1, cycle, ncycle))
			return true;
	}
	color[i] = BLACK;
	return false;
}

int
trk_config_check_graph(const trk_config_t *cfg, trk_diags_t *diags)
{
	size_t		n = cfg->npipelines;
	int		   *color = trk_calloc(n + 1, sizeof(int));
	size_t	   *path = trk_calloc(n + 1, sizeof(size_t));
	size_t	   *cycle = trk_calloc(n + 1, sizeof(size_t));
	size_t		ncycle = 0;
	int			rc = 0;

	for (size_t i = 0; i < n; i++)
	{
		const trk_pipeline_t *p = &cfg->pipelines[i];

		/* trucker's own tables never feed back into it */
		if (strcmp(p->input_table.schema, "trucker") == 0)
		{
			trk_diag_error(diags, p->config_file, p->input_pos.line, p->input_pos.col,
						   "input table trucker.%s is one of trucker's own: a pipeline may not "
						   "read them", p->input_table.name);
			rc = -1;
		}
		if (strcmp(p->output_table.schema, "trucker") == 0)
		{
			trk_diag_error(diags, p->config_file, p->output_pos.line, p->output_pos.col,
						   "output table trucker.%s: the schema trucker is trucker's own",
						   p->output_table.name);
			rc = -1;
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++)
	{
		if (color[i] != WHITE || !visit(cfg, i, color, path, 0, cycle, &ncycle))
			continue;
		{
			const trk_pipeline_t *first = &cfg->pipelines[cycle[0]];
			trk_buf_t	names = {0};

			for (size_t k = 0; k < ncycle; k++)
				trk_buf_appendf(&names, "%s → ", cfg->pipelines[cycle[k]].name);
			trk_buf_append(&names, first->name);
			trk_diag_error(diags, first->config_file, first->output_pos.line, first->output_pos.col,
						   "pipelines %s form a cycle: each one's output is the next one's input, "
						   "so every change would come round forever (chains are allowed, cycles "
						   "are not)", trk_buf_cstr(&names));
			trk_buf_free(&names);
			rc = -1;
		}
	}
	free(color);
	free(path);
	free(cycle);
	return rc;
}
