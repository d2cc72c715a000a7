/* config.c — loading a configuration folder as a whole, and looking it up. */
#include "internal.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/suggest.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int
pipeline_cmp(const void *a, const void *b)
{
	return strcmp(((const trk_pipeline_t *) a)->name, ((const trk_pipeline_t *) b)->name);
}

/* dir_is_empty: true when a folder holds nothing but dot entries. */
static bool
dir_is_empty(const char *path)
{
	DIR		   *d = opendir(path);
	struct dirent *e;
	bool		empty = true;

	if (d == NULL)
		return false;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
		{
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

/*
 * is_pipeline_dir: a folder holding a config file (even a dangling link to
 * one), a .sql file, or a file named almost like config.yml — a misspelt
 * "confg.yml" must be reported, not skipped.  Other folders (secrets/,
 * notes/) are not pipelines.
 */
static bool
is_pipeline_dir(const char *path)
{
	static const char *const names[] = {"config.yml", "config.json", "config.yaml"};
	DIR		   *d = opendir(path);
	struct dirent *e;
	bool		found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL)
	{
		size_t		n = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		found = (n > 4 && strcmp(e->d_name + n - 4, ".sql") == 0) ||
			trk_suggest(e->d_name, names, 3) != NULL;
	}
	closedir(d);
	return found;
}

trk_config_t *
trk_config_load_connections(const char *file, trk_diags_t *diags)
{
	trk_config_t *cfg = trk_calloc(1, sizeof(*cfg));

	cfg->file = trk_strdup(file);
	cfg->dir = trk_path_dirname(file);
	if (trk_cfg_load_connections_into(cfg, file, diags) != 0)
	{
		trk_config_free(cfg);
		return NULL;
	}
	return cfg;
}

trk_config_t *
trk_config_load(const char *dir, const char *file, trk_diags_t *diags)
{
	trk_config_t *cfg = trk_calloc(1, sizeof(*cfg));
	size_t		errors0 = diags->nerrors;
	DIR		   *d;
	struct dirent *e;
	char	  **names = NULL;
	size_t		nnames = 0,
				capnames = 0;
	bool		have_connections;

	cfg->dir = trk_strdup(dir);
	cfg->file = file ? trk_strdup(file) : trk_path_join(dir, "trucker.yml");

	d = opendir(dir);
	if (d == NULL)
	{
		trk_diag_error(diags, dir, 0, 0, "could not open pipelines folder: %s", strerror(errno));
		goto done;
	}
	/*
	 * Read the connections even when they have errors: the pipelines are
	 * still checked, so one run of `trucker check` reports everything.
	 */
	have_connections = trk_cfg_load_connections_into(cfg, cfg->file, diags) == 0 ||
		cfg->nconnections > 0;

	while ((e = readdir(d)) != NULL)
	{
		char	   *path;

		if (e->d_name[0] == '.')
			continue;
		path = trk_path_join(dir, e->d_name);
		if (trk_path_is_dir(path))
		{
			if (is_pipeline_dir(path))
			{
				TRK_GROW(names, capnames, nnames + 1);
				names[nnames++] = trk_strdup(e->d_name);
			}
			else if (dir_is_empty(path))
				trk_diag_error(diags, path, 0, 0,
							   "empty pipeline folder: add a config.yml, or remove the folder");
		}
		free(path);
	}
	closedir(d);
	if (nnames > 1)
		qsort(names, nnames, sizeof(char *), name_cmp);

	for (size_t i = 0; i < nnames; i++)
	{
		char	   *path = trk_path_join(dir, names[i]);

		trk_cfg_load_pipeline_into(cfg, have_connections, path, names[i], diags);
		free(path);
		free(names[i]);
	}
	free(names);
	if (nnames == 0 && diags->nerrors == errors0)
		trk_diag_error(diags, dir, 0, 0,
					   "no pipelines: each pipeline is a subfolder holding a config.yml");
	if (cfg->npipelines > 1)
		qsort(cfg->pipelines, cfg->npipelines, sizeof(trk_pipeline_t), pipeline_cmp);
	if (diags->nerrors == errors0)
		trk_config_check_graph(cfg, diags);

done:
	if (diags->nerrors != errors0)
	{
		trk_config_free(cfg);
		return NULL;
	}
	return cfg;
}

int
trk_config_load_pipeline(trk_config_t *cfg, const char *dir, const char *name,
						 trk_diags_t *diags)
{
	return trk_cfg_load_pipeline_into(cfg, true, dir, name, diags);
}

const trk_connection_t *
trk_config_connection(const trk_config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nconnections; i++)
		if (cfg->connections[i].name && strcmp(cfg->connections[i].name, name) == 0)
			return &cfg->connections[i];
	return NULL;
}

const trk_pipeline_t *
trk_config_pipeline(const trk_config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->npipelines; i++)
		if (strcmp(cfg->pipelines[i].name, name) == 0)
			return &cfg->pipelines[i];
	return NULL;
}

static void
endpoint_clear(trk_endpoint_t *e)
{
	free(e->host);
	free(e->database);
	free(e->user);
	if (e->pass)
	{
		/* do not leave secrets in freed memory */
		volatile char *p = e->pass;

		while (*p)
			*p++ = '\0';
		free(e->pass);
	}
	memset(e, 0, sizeof(*e));
}

void
trk_cfg_connection_clear(trk_connection_t *c)
{
	free(c->name);
	endpoint_clear(&c->primary);
	endpoint_clear(&c->replica);
	free(c->sslmode);
	for (size_t i = 0; i < c->noptions; i++)
	{
		free(c->options[i].key);
		free(c->options[i].value);
	}
	free(c->options);
	free(c->slot);
	free(c->catalog);
	free(c->data_path);
	memset(c, 0, sizeof(*c));
}

void
trk_config_free(trk_config_t *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nconnections; i++)
		trk_cfg_connection_clear(&cfg->connections[i]);
	free(cfg->connections);
	for (size_t i = 0; i < cfg->npipelines; i++)
		trk_cfg_pipeline_clear(&cfg->pipelines[i]);
	free(cfg->pipelines);
	free(cfg->dir);
	free(cfg->file);
	free(cfg);
}

size_t
trk_connection_params(const trk_connection_t *conn, bool replica,
					  const char **kw, const char **val,
					  const char *const *extra_kw, const char *const *extra_val)
{
	const trk_endpoint_t *e = replica && conn->has_replica ? &conn->replica : &conn->primary;
	size_t		n = 0;

#define ADD(k, v) do { if ((v) != NULL && n < TRK_CONN_MAX_PARAMS - 1) { kw[n] = (k); val[n] = (v); n++; } } while (0)
	for (size_t i = 0; i < conn->noptions; i++)
		ADD(conn->options[i].key, conn->options[i].value);
	ADD("host", e->host);
	ADD("dbname", e->database);
	ADD("user", e->user);
	ADD("password", e->pass);
	ADD("sslmode", conn->sslmode);
	for (size_t i = 0; extra_kw && extra_kw[i]; i++)
		ADD(extra_kw[i], extra_val[i]);
#undef ADD
	if (n < TRK_CONN_MAX_PARAMS - 1 && e->port_text[0])
	{
		kw[n] = "port";
		val[n] = e->port_text;
		n++;
	}
	kw[n] = NULL;
	val[n] = NULL;
	return n;
}
