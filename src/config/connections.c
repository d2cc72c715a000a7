/* connections.c — trucker.yml: templating, connections, secrets from files. */
#include "internal.h"
#include "config/expand.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/suggest.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * libpq keywords that have a key of their own in trucker.yml, or that
 * trucker sets itself: options: may not override them.
 */
static const char *const reserved_options[][2] = {
	{"host", "host"}, {"hostaddr", "host"}, {"port", "port"},
	{"dbname", "database"}, {"user", "user"}, {"password", "pass"},
	{"sslmode", "sslmode"},
	{"replication", NULL},
};

typedef struct conn_loader
{
	const char *file;			/* trucker.yml, for diagnostics */
	const char *basedir;		/* where relative paths start */
	const trk_srcmap_t *map;	/* where {{ }} tags were expanded */
	trk_diags_t *diags;
	int			errors;
} conn_loader_t;

/*
 * get_value reads key, or key_path (the value read from a file).  Returns an
 * owned string or NULL when neither is set; on error, counts it and returns
 * NULL.  *where receives the position of whichever was used.
 */
static char *
get_value(conn_loader_t *l, const trk_ynode_t *map, const char *key,
		  located_t *where)
{
	trk_buf_t	pkey = {0};
	const trk_ynode_t *direct;
	const trk_ynode_t *path;
	char	   *result = NULL;
	trk_diags_t *d = l->diags;
	size_t		before = d->nerrors;

	trk_buf_appendf(&pkey, "%s_path", key);
	direct = trk_cfg_scalar(l->file, map, key, d);
	/* name and adapter have no _path variant: check_keys reports one */
	path = strcmp(key, "name") != 0 && strcmp(key, "adapter") != 0 ?
		trk_cfg_scalar(l->file, map, pkey.data, d) : NULL;
	where->hidden = false;
	if (direct && path)
	{
		trk_diag_error(d, l->file, path->line, path->col,
					   "set either \"%s\" or \"%s\", not both", key, pkey.data);
		goto done;
	}
	if (direct)
	{
		where->line = direct->line;
		where->col = direct->col;
		where->hidden = l->map && trk_srcmap_is_tag(l->map, direct->line, direct->col);
		result = trk_strdup(direct->text);
	}
	else if (path)
	{
		char	   *fpath = trk_path_join(l->basedir, path->text);
		trk_buf_t	content = {0};

		where->line = path->line;
		where->col = path->col;
		where->hidden = true;
		if (trk_file_read(fpath, &content) != 0)
			trk_diag_error(d, l->file, path->line, path->col,
						   "could not read \"%s\" for %s: %s", fpath, pkey.data, strerror(errno));
		else if (memchr(content.data, '\0', content.len))
			trk_diag_error(d, l->file, path->line, path->col,
						   "\"%s\" (%s) contains a NUL byte", fpath, pkey.data);
		else
		{
			trk_secret_trim(&content);
			result = trk_buf_steal(&content);
		}
		trk_buf_free(&content);
		free(fpath);
	}

done:
	l->errors += (int) (d->nerrors - before);
	trk_buf_free(&pkey);
	return result;
}

static void error_at(conn_loader_t *l, const located_t *w, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static void
error_at(conn_loader_t *l, const located_t *w, const char *fmt,...)
{
	trk_buf_t	msg = {0};
	va_list		ap;

	va_start(ap, fmt);
	trk_buf_vappendf(&msg, fmt, ap);
	va_end(ap);
	trk_diag_error(l->diags, l->file, w->line, w->col, "%s", msg.data);
	trk_buf_free(&msg);
	l->errors++;
}

/*
 * shown is how a message quotes a value: a value read from a file or the
 * environment may be a secret, so it is never repeated.
 */
static const char *
shown(const located_t *w, const char *value)
{
	return w->hidden ? "(a value from a file or the environment)" : value;
}

static int
get_port(conn_loader_t *l, const trk_ynode_t *map, const char *key, int def)
{
	located_t	w = {0};
	char	   *v = get_value(l, map, key, &w);
	int64_t		port = def;

	if (v && !trk_cfg_parse_int(v, 1, 65535, &port))
		error_at(l, &w, "\"%s\" must be a port number from 1 to 65535, not \"%s\"", key, shown(&w, v));
	free(v);
	return (int) port;
}

static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* slot_from_name derives trucker_<name>, lower-cased, '-' as '_'. */
static char *
slot_from_name(const char *name)
{
	trk_buf_t	b = {0};

	trk_buf_append(&b, "trucker_");
	for (const char *p = name; *p && b.len < 63; p++)
		trk_buf_appendc(&b, *p == '-' ? '_' : (char) tolower((unsigned char) *p));
	return trk_buf_steal(&b);
}

static bool
valid_slot(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char) *s) || isdigit((unsigned char) *s) || *s == '_'))
			return false;
	return true;
}

static bool
is_url(const char *s)
{
	const char *colon = strstr(s, "://");

	if (colon == NULL || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char) *p) && *p != '+' && *p != '-' && *p != '.')
			return false;
	return true;
}

/* check_options validates options: against libpq's own list of keywords. */
static void
load_options(conn_loader_t *l, const trk_ynode_t *opts, trk_connection_t *c)
{
	PQconninfoOption *defs;
	const char **known = NULL;
	size_t		nknown = 0,
				capknown = 0;

	if (opts->kind == TRK_Y_NULL)
		return;
	if (opts->kind != TRK_Y_MAP)
	{
		trk_diag_error(l->diags, l->file, opts->line, opts->col,
					   "\"options\" must be a map of libpq keywords to values");
		l->errors++;
		return;
	}
	defs = PQconndefaults();
	for (PQconninfoOption *o = defs; o && o->keyword; o++)
	{
		TRK_GROW(known, capknown, nknown + 1);
		known[nknown++] = o->keyword;
	}
	c->options = trk_calloc(opts->n, sizeof(*c->options));
	for (size_t i = 0; i < opts->n; i++)
	{
		const trk_ynode_t *k = opts->pairs[i].key;
		const trk_ynode_t *v = opts->pairs[i].value;
		bool		found = false;
		bool		reserved = false;

		for (size_t j = 0; j < sizeof(reserved_options) / sizeof(reserved_options[0]); j++)
			if (strcmp(k->text, reserved_options[j][0]) == 0)
			{
				if (reserved_options[j][1])
					trk_diag_error(l->diags, l->file, k->line, k->col,
								   "libpq option \"%s\" is set by the \"%s\" key of the connection, not in options",
								   k->text, reserved_options[j][1]);
				else
					trk_diag_error(l->diags, l->file, k->line, k->col,
								   "libpq option \"%s\" is set by trucker itself", k->text);
				l->errors++;
				reserved = true;
			}
		if (reserved)
			continue;
		for (size_t j = 0; j < nknown; j++)
			if (strcmp(known[j], k->text) == 0)
				found = true;
		if (!found)
		{
			const char *s = trk_suggest(k->text, known, nknown);

			if (s)
				trk_diag_error(l->diags, l->file, k->line, k->col,
							   "unknown libpq option \"%s\"; did you mean \"%s\"?", k->text, s);
			else
				trk_diag_error(l->diags, l->file, k->line, k->col,
							   "unknown libpq option \"%s\"", k->text);
			l->errors++;
			continue;
		}
		if (v == NULL || v->kind != TRK_Y_SCALAR)
		{
			trk_diag_error(l->diags, l->file, v ? v->line : k->line, v ? v->col : k->col,
						   "libpq option \"%s\" needs a single value", k->text);
			l->errors++;
			continue;
		}
		c->options[c->noptions].key = trk_strdup(k->text);
		c->options[c->noptions].value = trk_strdup(v->text);
		c->noptions++;
	}
	free(known);
	PQconninfoFree(defs);
}

/* Keys that only one adapter understands. */
static const char *const postgres_only[] = {
	"host", "port", "database", "user", "pass", "sslmode", "replica_host",
	"replica_port", "replica_db", "replica_user", "replica_pass", "replica_wait_ms", "slot", "options",
};
static const char *const ducklake_only[] = {"catalog", "data_path"};

static void
check_adapter_keys(conn_loader_t *l, const trk_ynode_t *map, trk_adapter_t adapter)
{
	const char *const *deny = adapter == TRK_ADAPTER_POSTGRES ? ducklake_only : postgres_only;
	size_t		ndeny = adapter == TRK_ADAPTER_POSTGRES ?
		sizeof(ducklake_only) / sizeof(char *) : sizeof(postgres_only) / sizeof(char *);

	for (size_t i = 0; i < map->n; i++)
	{
		const trk_ynode_t *k = map->pairs[i].key;
		size_t		len = strlen(k->text);

		for (size_t j = 0; j < ndeny; j++)
		{
			size_t		dl = strlen(deny[j]);

			if (strcmp(k->text, deny[j]) == 0 ||
				(len == dl + 5 && strncmp(k->text, deny[j], dl) == 0 &&
				 strcmp(k->text + dl, "_path") == 0))
			{
				trk_diag_error(l->diags, l->file, k->line, k->col,
							   "key \"%s\" does not apply to a %s connection", k->text,
							   adapter == TRK_ADAPTER_POSTGRES ? "postgres" : "ducklake");
				l->errors++;
			}
		}
	}
}

static void
load_connection(conn_loader_t *l, const trk_ynode_t *m, trk_config_t *cfg)
{
	trk_connection_t c = {0};
	located_t	w = {0};
	char	   *adapter;
	const trk_ynode_t *opts;
	int			errors0 = l->errors;

	c.line = m->line;
	c.col = m->col;
	if (m->kind != TRK_Y_MAP)
	{
		trk_diag_error(l->diags, l->file, m->line, m->col,
					   "each connection must be a map with name and adapter");
		l->errors++;
		return;
	}
	l->errors += trk_cfg_check_keys(l->file, m, trk_cfg_section("connections[]"), l->diags);

	/* a required key written as null is as missing as an absent one */
	c.name = get_value(l, m, "name", &w);
	if (c.name == NULL || c.name[0] == '\0')
	{
		trk_diag_error(l->diags, l->file, m->line, m->col, "connection has no \"name\"");
		l->errors++;
		free(c.name);
		c.name = NULL;
	}
	else if (!valid_name(c.name))
		error_at(l, &w, "connection name \"%s\" may only hold letters, digits, '_' and '-'",
				 shown(&w, c.name));
	else if (trk_config_connection(cfg, c.name))
		error_at(l, &w, "duplicate connection name \"%s\"", shown(&w, c.name));

	adapter = get_value(l, m, "adapter", &w);
	if (adapter == NULL)
	{
		trk_diag_error(l->diags, l->file, m->line, m->col,
					   "connection \"%s\" has no \"adapter\" (postgres or ducklake)",
					   c.name ? c.name : "?");
		l->errors++;
	}
	else if (strcmp(adapter, "postgres") == 0)
		c.adapter = TRK_ADAPTER_POSTGRES;
	else if (strcmp(adapter, "ducklake") == 0)
		c.adapter = TRK_ADAPTER_DUCKLAKE;
	else
	{
		static const char *const adapters[] = {"postgres", "ducklake"};
		const char *s = w.hidden ? NULL : trk_suggest(adapter, adapters, 2);

		if (s)
			error_at(l, &w, "unknown adapter \"%s\"; did you mean \"%s\"?", adapter, s);
		else
			error_at(l, &w, "unknown adapter \"%s\" (trucker has postgres and ducklake)",
					 shown(&w, adapter));
		free(adapter);
		adapter = NULL;
	}
	if (adapter)
		check_adapter_keys(l, m, c.adapter);
	free(adapter);

	if (c.adapter == TRK_ADAPTER_POSTGRES)
	{
		c.primary.host = get_value(l, m, "host", &w);
		c.primary.port = get_port(l, m, "port", 5432);
		snprintf(c.primary.port_text, sizeof(c.primary.port_text), "%d", c.primary.port);
		c.primary.database = get_value(l, m, "database", &w);
		c.primary.user = get_value(l, m, "user", &w);
		c.primary.pass = get_value(l, m, "pass", &w);
		c.sslmode = get_value(l, m, "sslmode", &w);
		if (c.sslmode && !trk_cfg_enum_ok(c.sslmode, "disable|allow|prefer|require|verify-ca|verify-full"))
			error_at(l, &w, "sslmode \"%s\" is not one of %s", shown(&w, c.sslmode),
					 "disable, allow, prefer, require, verify-ca, verify-full");

		c.replica.host = get_value(l, m, "replica_host", &w);
		c.has_replica = c.replica.host != NULL;
		{
			static const char *const rkeys[] = {
				"replica_port", "replica_db", "replica_user", "replica_pass", "replica_wait_ms",
				"replica_port_path", "replica_db_path", "replica_user_path", "replica_pass_path",
				"replica_wait_ms_path",
			};

			if (!c.has_replica)
				for (size_t i = 0; i < sizeof(rkeys) / sizeof(rkeys[0]); i++)
				{
					const trk_ynode_t *v = trk_ymap_get(m, rkeys[i]);

					if (v)
					{
						trk_diag_error(l->diags, l->file, v->line, v->col,
									   "\"%s\" has no effect without \"replica_host\"", rkeys[i]);
						l->errors++;
					}
				}
		}
		if (c.has_replica)
		{
			char	   *v;

			c.replica.port = get_port(l, m, "replica_port", 5432);
			snprintf(c.replica.port_text, sizeof(c.replica.port_text), "%d", c.replica.port);
			v = get_value(l, m, "replica_db", &w);
			c.replica.database = v ? v : (c.primary.database ? trk_strdup(c.primary.database) : NULL);
			v = get_value(l, m, "replica_user", &w);
			c.replica.user = v ? v : (c.primary.user ? trk_strdup(c.primary.user) : NULL);
			v = get_value(l, m, "replica_pass", &w);
			c.replica.pass = v ? v : (c.primary.pass ? trk_strdup(c.primary.pass) : NULL);
			c.replica_wait_ms = 30000;
			v = get_value(l, m, "replica_wait_ms", &w);
			if (v && !trk_cfg_parse_int(v, 0, 24 * 3600 * 1000, &c.replica_wait_ms))
				error_at(l, &w, "\"replica_wait_ms\" must be a whole number of milliseconds from 0 "
						 "to 86400000, not \"%s\"", shown(&w, v));
			free(v);
		}

		c.slot = get_value(l, m, "slot", &w);
		if (c.slot && !valid_slot(c.slot))
			error_at(l, &w, "slot name \"%s\" must be 1 to 63 characters of a-z, 0-9 and '_'",
					 shown(&w, c.slot));
		if (c.slot == NULL && c.name)
			c.slot = slot_from_name(c.name);

		opts = trk_ymap_get(m, "options");
		if (opts)
			load_options(l, opts, &c);
	}
	else
	{
		size_t		errors_before = (size_t) l->errors;

		c.catalog = get_value(l, m, "catalog", &w);
		if (c.catalog == NULL && (size_t) l->errors == errors_before)
		{
			trk_diag_error(l->diags, l->file, m->line, m->col,
						   "ducklake connection \"%s\" needs a \"catalog\"", c.name ? c.name : "?");
			l->errors++;
		}
		else if (c.catalog && strncmp(c.catalog, "postgres:", 9) == 0)
		{
			char	   *ci = trk_strdup(c.catalog + 9);

			free(c.catalog);
			c.catalog = ci;
			c.catalog_kind = TRK_CATALOG_CONNINFO;
		}
		else if (c.catalog)
		{
			/* a connection name wins; it is resolved after every connection is read */
			c.catalog_kind = TRK_CATALOG_DUCKDB_FILE;
		}
		errors_before = (size_t) l->errors;
		c.data_path = get_value(l, m, "data_path", &w);
		if (c.data_path == NULL && (size_t) l->errors == errors_before)
		{
			trk_diag_error(l->diags, l->file, m->line, m->col,
						   "ducklake connection \"%s\" needs a \"data_path\"", c.name ? c.name : "?");
			l->errors++;
		}
		else if (c.data_path && !is_url(c.data_path))
		{
			char	   *abs = trk_path_join(l->basedir, c.data_path);

			free(c.data_path);
			c.data_path = abs;
		}
	}

	if (l->errors != errors0 || c.name == NULL)
	{
		/* keep a broken connection's name so pipelines do not cascade */
		if (c.name && trk_config_connection(cfg, c.name) == NULL)
		{
			trk_connection_t stub = {.name = c.name,.adapter = c.adapter,
			.line = c.line,.col = c.col};

			c.name = NULL;
			TRK_GROW(cfg->connections, cfg->capconnections, cfg->nconnections + 1);
			cfg->connections[cfg->nconnections++] = stub;
		}
		trk_cfg_connection_clear(&c);
		return;
	}
	TRK_GROW(cfg->connections, cfg->capconnections, cfg->nconnections + 1);
	cfg->connections[cfg->nconnections++] = c;
}

/* resolve_catalogs turns a ducklake catalog naming a connection into one. */
static void
resolve_catalogs(conn_loader_t *l, trk_config_t *cfg)
{
	for (size_t i = 0; i < cfg->nconnections; i++)
	{
		trk_connection_t *c = &cfg->connections[i];
		const trk_connection_t *target;

		if (c->adapter != TRK_ADAPTER_DUCKLAKE || c->catalog_kind != TRK_CATALOG_DUCKDB_FILE)
			continue;
		target = trk_config_connection(cfg, c->catalog);
		if (target)
		{
			if (target->adapter != TRK_ADAPTER_POSTGRES)
			{
				trk_diag_error(l->diags, l->file, c->line, c->col,
							   "catalog of \"%s\" names connection \"%s\", which is not a postgres connection",
							   c->name, c->catalog);
				l->errors++;
			}
			c->catalog_kind = TRK_CATALOG_CONNECTION;
		}
		else
		{
			char	   *abs = trk_path_join(l->basedir, c->catalog);

			free(c->catalog);
			c->catalog = abs;
		}
	}
}

/* check_slots: two connections consuming one slot would steal its changes. */
static void
check_slots(conn_loader_t *l, const trk_config_t *cfg)
{
	for (size_t i = 0; i < cfg->nconnections; i++)
		for (size_t j = 0; j < i; j++)
		{
			const trk_connection_t *a = &cfg->connections[j];
			const trk_connection_t *b = &cfg->connections[i];

			if (a->slot && b->slot && strcmp(a->slot, b->slot) == 0)
			{
				trk_diag_error(l->diags, l->file, b->line, b->col,
							   "connections \"%s\" and \"%s\" use the same replication slot \"%s\": "
							   "set \"slot\" on one of them", a->name, b->name, b->slot);
				l->errors++;
			}
		}
}

/*
 * drop_cascades removes diagnostics that follow from a failed {{ }} tag: a
 * later error on a line whose tag already failed says nothing new.
 */
static void
drop_cascades(trk_diags_t *d, size_t first, size_t end)
{
	size_t		out = end;

	for (size_t i = end; i < d->n; i++)
	{
		bool		cascade = false;

		for (size_t j = first; j < end && !cascade; j++)
			cascade = d->items[j].line == d->items[i].line && d->items[i].file &&
				d->items[j].file && strcmp(d->items[j].file, d->items[i].file) == 0;
		if (cascade)
		{
			if (d->items[i].severity == TRK_ERROR)
				d->nerrors--;
			free(d->items[i].file);
			free(d->items[i].message);
		}
		else
			d->items[out++] = d->items[i];
	}
	d->n = out;
}

int
trk_cfg_load_connections_into(trk_config_t *cfg, const char *file, trk_diags_t *diags)
{
	trk_buf_t	raw = {0};
	int			errors;

	if (trk_file_read(file, &raw) != 0)
	{
		trk_diag_error(diags, file, 0, 0, "could not read connections file: %s", strerror(errno));
		trk_buf_free(&raw);
		return 1;
	}
	errors = trk_cfg_connections_from_text(cfg, file, raw.data, raw.len, diags);
	trk_buf_free(&raw);
	return errors;
}

int
trk_cfg_connections_from_text(trk_config_t *cfg, const char *file,
							  const char *text, size_t len, trk_diags_t *diags)
{
	trk_buf_t	expanded = {0};
	trk_srcmap_t map = {0};
	trk_ynode_t *root = NULL;
	conn_loader_t l = {.file = file,.diags = diags,.map = &map};
	char	   *basedir = trk_path_dirname(file);
	const trk_ynode_t *list;
	size_t		first_expand_diag,
				end_expand_diag,
				before_parse;

	l.basedir = basedir;
	/* a failed tag is reported and left empty: the rest is still checked */
	first_expand_diag = diags->n;
	l.errors += trk_expand(file, text, len, basedir, &expanded, &map, diags);
	end_expand_diag = diags->n;
	before_parse = diags->nerrors;
	root = trk_yaml_parse(file, expanded.data, expanded.len, &map, diags);
	l.errors += (int) (diags->nerrors - before_parse);
	if (root == NULL)
	{
		l.errors += l.errors == 0;
		goto done;
	}
	if (root->kind != TRK_Y_MAP)
	{
		trk_diag_error(diags, file, root->line, root->col,
					   "trucker.yml must be a map with a \"connections\" list");
		l.errors++;
		goto done;
	}
	l.errors += trk_cfg_check_keys(file, root, trk_cfg_section("trucker.yml"), diags);
	list = trk_ymap_get(root, "connections");
	if (list == NULL || list->kind == TRK_Y_NULL)
	{
		trk_diag_error(diags, file, root->line, root->col, "trucker.yml has no \"connections\"");
		l.errors++;
		goto done;
	}
	if (list->kind != TRK_Y_SEQ)
	{
		trk_diag_error(diags, file, list->line, list->col,
					   "\"connections\" must be a list (each item starts with \"- name:\")");
		l.errors++;
		goto done;
	}
	for (size_t i = 0; i < list->n; i++)
		load_connection(&l, list->items[i], cfg);
	resolve_catalogs(&l, cfg);
	check_slots(&l, cfg);

done:
	drop_cascades(diags, first_expand_diag, end_expand_diag);
	trk_ynode_free(root);
	trk_srcmap_free(&map);
	trk_buf_free(&expanded);
	free(basedir);
	return l.errors;
}
