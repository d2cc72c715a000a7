/* pipeline.c — one pipeline folder: config.yml and its SQL templates. */
#include "internal.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/suggest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sql_files[TRK_SQL_COUNT] = {
	"transform.sql", "insert.sql", "update.sql", "delete.sql",
};

const char *
trk_sql_kind_file(trk_sql_kind_t kind)
{
	return kind < TRK_SQL_COUNT ? sql_files[kind] : "?";
}

const char *
trk_op_name(trk_op_t op)
{
	switch (op)
	{
		case TRK_OP_INSERT:
			return "insert";
		case TRK_OP_UPDATE:
			return "update";
		case TRK_OP_DELETE:
			return "delete";
	}
	return "?";
}

typedef struct pipe_loader
{
	const trk_config_t *cfg;
	bool		have_connections;	/* false when trucker.yml failed */
	const char *file;
	trk_diags_t *diags;
	size_t		errors0;
	uint64_t	sql_hash;		/* the SQL files' texts, for the fingerprint */
} pipe_loader_t;

/* FNV-1a, 64 bits: a fingerprint tells changes apart, it guards nothing */
static uint64_t
fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < n; i++)
	{
		h ^= b[i];
		h *= 1099511628211u;
	}
	return h;
}

static uint64_t
fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* fnv_u64 hashes a number as 8 little-endian bytes, the same on any machine */
static uint64_t
fnv_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char) (v >> (8 * i));
	return fnv(h, b, sizeof(b));
}

/*
 * fingerprint: what a pipeline's output is made of — its input, its output
 * and key, the operations it applies, and its SQL files — so that a change
 * to any of them is seen.  Batches, on_error, redact and backfill settings
 * change how, not what, and are left out.
 */
static void
fingerprint(trk_pipeline_t *p, uint64_t sql_hash)
{
	uint64_t	h = 14695981039346656037u;

	h = fnv_str(h, p->input_connection);
	h = fnv_str(h, p->input_table.schema);
	h = fnv_str(h, p->input_table.name);
	h = fnv_str(h, p->output_connection);
	h = fnv_str(h, p->output_table.schema);
	h = fnv_str(h, p->output_table.name);
	h = fnv_u64(h, p->nkey);
	for (size_t i = 0; i < p->nkey; i++)
		h = fnv_str(h, p->key[i]);
	h = fnv_u64(h, p->operations);
	h = fnv_u64(h, sql_hash);
	snprintf(p->fingerprint, sizeof(p->fingerprint), "%016llx", (unsigned long long) h);
}

static const trk_ynode_t *
section_map(pipe_loader_t *l, const trk_ynode_t *root, const char *key,
			bool required)
{
	const trk_ynode_t *m = trk_ymap_get(root, key);

	if (m == NULL || m->kind == TRK_Y_NULL)
	{
		if (required)
			trk_diag_error(l->diags, l->file, root->line, root->col,
						   "missing required key \"%s\"", key);
		return NULL;
	}
	if (m->kind != TRK_Y_MAP)
	{
		trk_diag_error(l->diags, l->file, m->line, m->col,
					   "\"%s\" must be a map, e.g. %s: {connection: …, table: …}", key, key);
		return NULL;
	}
	trk_cfg_check_keys(l->file, m, trk_cfg_section(key), l->diags);
	return m;
}

static const trk_ynode_t *
required_scalar(pipe_loader_t *l, const trk_ynode_t *m, const char *section,
				const char *key)
{
	const trk_ynode_t *v = trk_cfg_scalar(l->file, m, key, l->diags);

	if (v == NULL && (trk_ymap_get(m, key) == NULL || trk_ymap_get(m, key)->kind == TRK_Y_NULL))
		trk_diag_error(l->diags, l->file, m->line, m->col,
					   "%s needs \"%s\"", section, key);
	return v;
}

static void
check_connection_ref(pipe_loader_t *l, const trk_ynode_t *v, bool input)
{
	const trk_connection_t *c;

	if (!l->have_connections)
		return;
	c = trk_config_connection(l->cfg, v->text);
	if (c == NULL)
	{
		const char **names = trk_calloc(l->cfg->nconnections, sizeof(char *));
		const char *s;

		for (size_t i = 0; i < l->cfg->nconnections; i++)
			names[i] = l->cfg->connections[i].name;
		s = trk_suggest(v->text, names, l->cfg->nconnections);
		if (s)
			trk_diag_error(l->diags, l->file, v->line, v->col,
						   "unknown connection \"%s\"; did you mean \"%s\"?", v->text, s);
		else
			trk_diag_error(l->diags, l->file, v->line, v->col,
						   "unknown connection \"%s\" (not in trucker.yml)", v->text);
		free(names);
		return;
	}
	if (input && c->adapter != TRK_ADAPTER_POSTGRES)
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "input connection \"%s\" must be a postgres connection", v->text);
}

static void
load_table(pipe_loader_t *l, const trk_ynode_t *v, trk_table_name_t *out)
{
	const char *why;

	if (v && !trk_cfg_parse_table(v->text, out, &why))
		trk_diag_error(l->diags, l->file, v->line, v->col, "bad table name \"%s\": %s",
					   v->text, why);
}

/* load_columns reads what, a non-empty list of column names (key, redact) */
static void
load_columns(pipe_loader_t *l, const trk_ynode_t *v, const char *what, char ***cols,
			 size_t *ncols)
{
	if (v == NULL || v->kind == TRK_Y_NULL)
		return;
	if (v->kind == TRK_Y_SCALAR)
	{
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "\"%s\" must be a list of columns, e.g. %s: [%s]", what, what, v->text);
		return;
	}
	if (v->kind != TRK_Y_SEQ || v->n == 0)
	{
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "\"%s\" must be a non-empty list of columns", what);
		return;
	}
	*cols = trk_calloc(v->n, sizeof(char *));
	for (size_t i = 0; i < v->n; i++)
	{
		const trk_ynode_t *it = v->items[i];

		if (it->kind != TRK_Y_SCALAR || it->len == 0)
		{
			trk_diag_error(l->diags, l->file, it->line, it->col, "%s columns must be names", what);
			continue;
		}
		for (size_t j = 0; j < *ncols; j++)
			if (strcmp((*cols)[j], it->text) == 0)
				trk_diag_error(l->diags, l->file, it->line, it->col,
							   "column \"%s\" appears twice in %s", it->text, what);
		(*cols)[(*ncols)++] = trk_strdup(it->text);
	}
}

static void
load_operations(pipe_loader_t *l, const trk_ynode_t *v, trk_pipeline_t *p)
{
	static const char *const ops[] = {"insert", "update", "delete"};

	p->operations = TRK_OP_ALL;
	if (v == NULL || v->kind == TRK_Y_NULL)
		return;
	if (v->kind != TRK_Y_SEQ || v->n == 0)
	{
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "\"operations\" must be a non-empty list, e.g. [insert, update, delete]");
		return;
	}
	p->operations = 0;
	for (size_t i = 0; i < v->n; i++)
	{
		const trk_ynode_t *it = v->items[i];
		unsigned	bit = 0;

		if (it->kind == TRK_Y_SCALAR)
			for (size_t j = 0; j < 3; j++)
				if (strcmp(it->text, ops[j]) == 0)
					bit = 1u << j;
		if (bit == 0)
		{
			const char *s = it->kind == TRK_Y_SCALAR ? trk_suggest(it->text, ops, 3) : NULL;

			if (it->kind == TRK_Y_SCALAR && strcmp(it->text, "truncate") == 0)
				trk_diag_error(l->diags, l->file, it->line, it->col,
							   "operation \"truncate\" is not supported yet (insert, update and delete are)");
			else if (s)
				trk_diag_error(l->diags, l->file, it->line, it->col,
							   "unknown operation \"%s\"; did you mean \"%s\"?", it->text, s);
			else
				trk_diag_error(l->diags, l->file, it->line, it->col,
							   "unknown operation (insert, update and delete exist)");
			continue;
		}
		if (p->operations & bit)
			trk_diag_error(l->diags, l->file, it->line, it->col,
						   "operation \"%s\" is listed twice", it->text);
		p->operations |= bit;
	}
}

static void
load_batch(pipe_loader_t *l, const trk_ynode_t *root, trk_pipeline_t *p)
{
	const trk_ynode_t *m = section_map(l, root, "batch", false);
	const trk_ynode_t *v;

	p->batch_max_rows = 10000;
	p->batch_max_bytes = 16 * 1024 * 1024;
	p->batch_max_delay_ms = 100;
	if (m == NULL)
		return;
	if ((v = trk_cfg_scalar(l->file, m, "max_rows", l->diags)) &&
		!trk_cfg_parse_int(v->text, 1, INT32_MAX, &p->batch_max_rows))
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "max_rows must be a whole number of at least 1, not \"%s\"", v->text);
	if ((v = trk_cfg_scalar(l->file, m, "max_bytes", l->diags)) &&
		(!trk_cfg_parse_size(v->text, &p->batch_max_bytes) || p->batch_max_bytes < 1024))
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "max_bytes must be a size of at least 1kB such as 16MB, not \"%s\"", v->text);
	if ((v = trk_cfg_scalar(l->file, m, "max_delay_ms", l->diags)) &&
		!trk_cfg_parse_int(v->text, 0, 3600 * 1000, &p->batch_max_delay_ms))
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "max_delay_ms must be a whole number of milliseconds from 0 to 3600000, not \"%s\"",
					   v->text);
}

static void
load_backfill(pipe_loader_t *l, const trk_ynode_t *root, trk_pipeline_t *p)
{
	const trk_ynode_t *m = section_map(l, root, "backfill", false);
	const trk_ynode_t *v;

	p->backfill_workers = 2;
	if (m == NULL)
		return;
	if ((v = trk_cfg_scalar(l->file, m, "workers", l->diags)) &&
		!trk_cfg_parse_int(v->text, 1, 64, &p->backfill_workers))
		trk_diag_error(l->diags, l->file, v->line, v->col,
					   "workers must be a whole number from 1 to 64, not \"%s\"", v->text);
}

/*
 * first_sql_word finds the first word of text outside comments and
 * whitespace; returns its offset or -1 when text starts with a template tag.
 */
static long
first_sql_word(const char *t, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		if (isspace((unsigned char) t[i]))
			i++;
		else if (i + 1 < n && t[i] == '-' && t[i + 1] == '-')
		{
			while (i < n && t[i] != '\n')
				i++;
		}
		else if (i + 1 < n && t[i] == '/' && t[i + 1] == '*')
		{
			const char *e = NULL;

			for (size_t j = i + 2; j + 1 < n; j++)
				if (t[j] == '*' && t[j + 1] == '/')
				{
					e = t + j + 2;
					break;
				}
			if (e == NULL)
				return -1;
			i = (size_t) (e - t);
		}
		else if (i + 1 < n && t[i] == '{' && (t[i + 1] == '%' || t[i + 1] == '#' || t[i + 1] == '{'))
			return -1;
		else
			return (long) i;
	}
	return -1;
}

static void
position_of(const char *t, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++)
	{
		if (t[i] == '\n')
		{
			(*line)++;
			*col = 1;
		}
		else if (((unsigned char) t[i] & 0xC0) != 0x80)
			(*col)++;
	}
}

static void
check_transform_is_select(pipe_loader_t *l, const char *path, const trk_buf_t *text)
{
	static const char *const ok[] = {"select", "with", "values", "table"};
	long		off = first_sql_word(text->data, text->len);
	size_t		wl = 0;
	int			line,
				col;

	if (off < 0)
		return;
	while ((size_t) off + wl < text->len && isalpha((unsigned char) text->data[off + wl]))
		wl++;
	for (size_t i = 0; i < 4; i++)
		if (strlen(ok[i]) == wl && strncasecmp(text->data + off, ok[i], wl) == 0)
			return;
	position_of(text->data, (size_t) off, &line, &col);
	trk_diag_error(l->diags, path, line, col,
				   "transform.sql must be one SELECT: its rows become \"transformed\"");
}

/* load_sql compiles the pipeline's templates and rejects unknown .sql files. */
static void
load_sql(pipe_loader_t *l, trk_pipeline_t *p)
{
	DIR		   *d = opendir(p->dir);
	struct dirent *e;
	bool		present[TRK_SQL_COUNT] = {0};
	trk_buf_t	text = {0};

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
	{
		size_t		len = strlen(e->d_name);
		bool		known = false;

		if (len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0)
			continue;
		for (int k = 0; k < TRK_SQL_COUNT; k++)
			if (strcmp(e->d_name, sql_files[k]) == 0)
			{
				present[k] = true;
				known = true;
			}
		if (!known)
		{
			char	   *path = trk_path_join(p->dir, e->d_name);
			const char *s = trk_suggest(e->d_name, sql_files, TRK_SQL_COUNT);

			if (s)
				trk_diag_error(l->diags, path, 0, 0,
							   "unknown SQL file \"%s\"; did you mean \"%s\"?", e->d_name, s);
			else
				trk_diag_error(l->diags, path, 0, 0,
							   "unknown SQL file \"%s\" (a pipeline may hold transform.sql, insert.sql, update.sql and delete.sql)",
							   e->d_name);
			free(path);
		}
	}
	closedir(d);

	for (int k = 0; k < TRK_SQL_COUNT; k++)
	{
		trk_template_scope_t scope = {0};
		char	   *path;

		if (!present[k])
			continue;
		path = trk_path_join(p->dir, sql_files[k]);
		if (trk_file_read(path, &text) != 0)
		{
			trk_diag_error(l->diags, path, 0, 0, "could not read: %s", strerror(errno));
			free(path);
			continue;
		}
		l->sql_hash = fnv_u64(l->sql_hash, (uint64_t) k);
		l->sql_hash = fnv(l->sql_hash, text.data, text.len);
		scope.allow_transformed = k != TRK_SQL_TRANSFORM && present[TRK_SQL_TRANSFORM];
		p->sql[k] = trk_template_compile(path, text.data, text.len, &scope, l->diags);
		p->sql_file[k] = path;
		if (k == TRK_SQL_TRANSFORM)
			check_transform_is_select(l, path, &text);
		else
		{
			trk_op_t	op = k == TRK_SQL_INSERT ? TRK_OP_INSERT :
				k == TRK_SQL_UPDATE ? TRK_OP_UPDATE : TRK_OP_DELETE;

			if (!(p->operations & op))
				trk_diag_warning(l->diags, path, 0, 0,
								 "%s is never used: \"%s\" is not in operations",
								 sql_files[k], trk_op_name(op));
		}
	}
	trk_buf_free(&text);
}

static void
pipeline_clear(trk_pipeline_t *p)
{
	free(p->name);
	free(p->dir);
	free(p->config_file);
	free(p->input_connection);
	free(p->input_table.schema);
	free(p->input_table.name);
	free(p->output_connection);
	free(p->output_table.schema);
	free(p->output_table.name);
	for (size_t i = 0; i < p->nkey; i++)
		free(p->key[i]);
	free(p->key);
	for (size_t i = 0; i < p->nredact; i++)
		free(p->redact[i]);
	free(p->redact);
	for (int k = 0; k < TRK_SQL_COUNT; k++)
	{
		trk_template_free(p->sql[k]);
		free(p->sql_file[k]);
	}
	memset(p, 0, sizeof(*p));
}

void
trk_cfg_pipeline_clear(trk_pipeline_t *p)
{
	pipeline_clear(p);
}

/* near_miss names a config-like file that is probably a misspelt config.yml. */
static const char *
near_miss(const char *dir)
{
	static char hint[300];
	static const char *const names[] = {"config.yml", "config.json"};
	DIR		   *d = opendir(dir);
	struct dirent *e;

	hint[0] = '\0';
	if (d == NULL)
		return hint;
	while ((e = readdir(d)) != NULL)
	{
		const char *s = trk_suggest(e->d_name, names, 2);

		if (s && e->d_name[0] != '.')
		{
			snprintf(hint, sizeof(hint), " (is \"%s\" meant to be \"%s\"?)", e->d_name, s);
			break;
		}
	}
	closedir(d);
	return hint;
}

static bool
valid_pipeline_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

int
trk_cfg_pipeline_from_text(const trk_config_t *cfg, bool have_connections,
						   const char *file, const char *text, size_t len,
						   trk_pipeline_t *pp, trk_diags_t *diags)
{
	pipe_loader_t l = {.cfg = cfg,.have_connections = have_connections,.diags = diags,
	.errors0 = diags->nerrors,.file = file};
	trk_ynode_t *root;
	const trk_ynode_t *m;
	const trk_ynode_t *v;

	/* JSON is YAML's flow style: one parser gives positions for both */
	root = trk_yaml_parse(file, text, len, NULL, diags);
	if (root == NULL)
		goto done;
	if (root->kind != TRK_Y_MAP)
	{
		trk_diag_error(diags, l.file, root->line, root->col,
					   "config must be a map with input and output");
		goto done;
	}
	trk_cfg_check_keys(l.file, root, trk_cfg_section("config.yml"), diags);

	if ((m = section_map(&l, root, "input", true)) != NULL)
	{
		if ((v = required_scalar(&l, m, "input", "connection")) != NULL)
		{
			pp->input_connection = trk_strdup(v->text);
			check_connection_ref(&l, v, true);
		}
		v = required_scalar(&l, m, "input", "table");
		load_table(&l, v, &pp->input_table);
		if (v)
			pp->input_pos = (trk_pos_t) {v->line, v->col};
	}
	if ((m = section_map(&l, root, "output", true)) != NULL)
	{
		if ((v = required_scalar(&l, m, "output", "connection")) != NULL)
		{
			pp->output_connection = trk_strdup(v->text);
			check_connection_ref(&l, v, false);
		}
		v = required_scalar(&l, m, "output", "table");
		load_table(&l, v, &pp->output_table);
		if (v)
			pp->output_pos = pp->key_pos = (trk_pos_t) {v->line, v->col};
		v = trk_ymap_get(m, "key");
		load_columns(&l, v, "key", &pp->key, &pp->nkey);
		if (v)
			pp->key_pos = (trk_pos_t) {v->line, v->col};
	}
	load_operations(&l, trk_ymap_get(root, "operations"), pp);
	load_columns(&l, trk_ymap_get(root, "redact"), "redact", &pp->redact, &pp->nredact);
	load_batch(&l, root, pp);
	load_backfill(&l, root, pp);
	if ((v = trk_cfg_scalar(l.file, root, "on_error", diags)) != NULL)
	{
		if (strcmp(v->text, "stop") == 0)
			pp->on_error = TRK_ON_ERROR_STOP;
		else if (strcmp(v->text, "dead_letter") == 0)
			pp->on_error = TRK_ON_ERROR_DEAD_LETTER;
		else
		{
			static const char *const modes[] = {"stop", "dead_letter"};
			const char *s = trk_suggest(v->text, modes, 2);

			trk_diag_error(diags, l.file, v->line, v->col,
						   "on_error must be stop or dead_letter, not \"%s\"%s%s%s", v->text,
						   s ? "; did you mean \"" : "", s ? s : "", s ? "\"?" : "");
		}
	}

done:
	trk_ynode_free(root);
	return diags->nerrors == l.errors0 ? 0 : -1;
}

int
trk_cfg_load_pipeline_into(trk_config_t *cfg, bool have_connections,
						   const char *dir, const char *name, trk_diags_t *diags)
{
	pipe_loader_t l = {.cfg = cfg,.have_connections = have_connections,.diags = diags,
	.errors0 = diags->nerrors};
	trk_pipeline_t p = {0};
	char	   *yml = trk_path_join(dir, "config.yml");
	char	   *json = trk_path_join(dir, "config.json");
	char	   *yaml = trk_path_join(dir, "config.yaml");
	trk_buf_t	raw = {0};
	int			rc = -1;

	p.name = trk_strdup(name);
	p.dir = trk_strdup(dir);
	p.operations = TRK_OP_ALL;
	if (!valid_pipeline_name(name))
		trk_diag_error(diags, dir, 0, 0,
					   "pipeline folder name \"%s\" may only hold letters, digits, '_', '-' and '.'", name);

	if (trk_path_lexists(yml) && trk_path_lexists(json))
	{
		trk_diag_error(diags, json, 0, 0, "both config.yml and config.json exist: keep one");
		goto done;
	}
	if (trk_path_lexists(yml))
		p.config_file = trk_strdup(yml);
	else if (trk_path_lexists(json))
		p.config_file = trk_strdup(json);
	else if (trk_path_lexists(yaml))
	{
		trk_diag_error(diags, yaml, 0, 0, "rename config.yaml to config.yml");
		goto done;
	}
	else
	{
		trk_diag_error(diags, dir, 0, 0, "pipeline folder has no config.yml%s", near_miss(dir));
		goto done;
	}
	l.file = p.config_file;

	if (trk_file_read(p.config_file, &raw) != 0)
	{
		trk_diag_error(diags, p.config_file, 0, 0, "could not read: %s", strerror(errno));
		goto done;
	}
	trk_cfg_pipeline_from_text(cfg, have_connections, p.config_file, raw.data, raw.len,
							   &p, diags);

	l.sql_hash = 14695981039346656037u;
	load_sql(&l, &p);
	if (diags->nerrors == l.errors0)
	{
		fingerprint(&p, l.sql_hash);
		TRK_GROW(cfg->pipelines, cfg->cappipelines, cfg->npipelines + 1);
		cfg->pipelines[cfg->npipelines++] = p;
		memset(&p, 0, sizeof(p));
		rc = 0;
	}

done:
	pipeline_clear(&p);
	trk_buf_free(&raw);
	free(yml);
	free(json);
	free(yaml);
	return rc;
}
