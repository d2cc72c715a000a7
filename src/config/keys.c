/* keys.c — every configuration key, declared once, and the checks on them. */
#include "internal.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/suggest.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const keydef_t top_keys[] = {
	{"connections", KT_LIST, true, false, NULL, NULL,
	"the list of database connections; each item is a map of the keys below"},
};

static const keydef_t connection_keys[] = {
	{"name", KT_STRING, true, false, NULL, NULL,
	"how pipelines refer to this connection ([A-Za-z0-9_-], unique)"},
	{"adapter", KT_ENUM, true, false, "postgres|ducklake", NULL,
	"the kind of database"},
	{"host", KT_STRING, false, true, NULL, "libpq's default (PGHOST or the local socket)",
	"postgres: host name, IP address or socket directory"},
	{"port", KT_PORT, false, true, NULL, "5432", "postgres: TCP port"},
	{"database", KT_STRING, false, true, NULL, "libpq's default (the user name)",
	"postgres: database name"},
	{"user", KT_STRING, false, true, NULL, "libpq's default", "postgres: role name"},
	{"pass", KT_STRING, false, true, NULL, NULL,
	"postgres: password (prefer pass_path or a {{ file() }} secret)"},
	{"sslmode", KT_ENUM, false, true,
	"disable|allow|prefer|require|verify-ca|verify-full", "libpq's default (prefer)",
	"postgres: libpq sslmode"},
	{"replica_host", KT_STRING, false, true, NULL, NULL,
	"postgres: a streaming replica that transform.sql queries run on"},
	{"replica_port", KT_PORT, false, true, NULL, "5432", "postgres: the replica's port"},
	{"replica_db", KT_STRING, false, true, NULL, "database", "postgres: the replica's database"},
	{"replica_user", KT_STRING, false, true, NULL, "user", "postgres: the replica's role"},
	{"replica_pass", KT_STRING, false, true, NULL, "pass", "postgres: the replica's password"},
	{"replica_wait_ms", KT_INT, false, true, NULL, "30000",
	"postgres: how long a transform waits for the replica to replay its change before trucker restarts the input"},
	{"slot", KT_STRING, false, true, NULL, "trucker_<name>",
	"postgres: the logical replication slot trucker consumes when this connection is an input"},
	{"options", KT_MAP, false, false, NULL, NULL,
	"postgres: any other libpq keyword, e.g. sslrootcert, application_name, connect_timeout"},
	{"catalog", KT_STRING, false, true, NULL, NULL,
	"ducklake: a DuckDB catalog file, the name of a postgres connection, or postgres:<conninfo>"},
	{"data_path", KT_STRING, false, true, NULL, NULL,
	"ducklake: where the lake's Parquet files go (a directory or an object-store URL)"},
};

static const keydef_t pipeline_keys[] = {
	{"input", KT_MAP, true, false, NULL, NULL, "the table whose changes feed the pipeline"},
	{"output", KT_MAP, true, false, NULL, NULL, "where the pipeline writes"},
	{"operations", KT_LIST, false, false, "insert|update|delete", "[insert, update, delete]",
	"which source operations the pipeline applies"},
	{"batch", KT_MAP, false, false, NULL, NULL, "how changes are grouped into destination transactions"},
	{"backfill", KT_MAP, false, false, NULL, NULL, "how a new pipeline copies the rows its input holds"},
	{"on_error", KT_ENUM, false, false, "stop|dead_letter", "stop",
	"what a failing change does: stop the pipeline, or go to trucker.dead_letters"},
	{"redact", KT_LIST, false, false, NULL, NULL,
	"columns whose values never appear in trucker's log (a failing statement's parameters)"},
};

static const keydef_t input_keys[] = {
	{"connection", KT_STRING, true, false, NULL, NULL, "a postgres connection of trucker.yml"},
	{"table", KT_STRING, true, false, NULL, NULL, "schema.table (schema defaults to public)"},
};

static const keydef_t output_keys[] = {
	{"connection", KT_STRING, true, false, NULL, NULL, "a connection of trucker.yml"},
	{"table", KT_STRING, true, false, NULL, NULL, "schema.table (schema defaults to public)"},
	{"key", KT_LIST, false, false, NULL, "the input's primary key",
	"the output columns that identify a row"},
};

static const keydef_t batch_keys[] = {
	{"max_rows", KT_INT, false, false, NULL, "10000",
	"close a destination transaction after this many changes"},
	{"max_bytes", KT_SIZE, false, false, NULL, "16MB",
	"… or after this much change data (units: B, kB, MB, GB)"},
	{"max_delay_ms", KT_INT, false, false, NULL, "100",
	"… or when its first change has waited this long"},
};

static const keydef_t backfill_keys[] = {
	{"workers", KT_INT, false, false, NULL, "2",
	"connections that copy a large table at once, each a range of it (1 to 64)"},
};

const section_t trk_config_sections[] = {
	{"trucker.yml", top_keys, NKEYS(top_keys)},
	{"connections[]", connection_keys, NKEYS(connection_keys)},
	{"config.yml", pipeline_keys, NKEYS(pipeline_keys)},
	{"input", input_keys, NKEYS(input_keys)},
	{"output", output_keys, NKEYS(output_keys)},
	{"batch", batch_keys, NKEYS(batch_keys)},
	{"backfill", backfill_keys, NKEYS(backfill_keys)},
};
const size_t trk_config_nsections = NKEYS(trk_config_sections);

const section_t *
trk_cfg_section(const char *title)
{
	for (size_t i = 0; i < trk_config_nsections; i++)
		if (strcmp(trk_config_sections[i].title, title) == 0)
			return &trk_config_sections[i];
	return NULL;
}

static const keydef_t *
find_key(const section_t *sec, const char *name)
{
	for (size_t i = 0; i < sec->nkeys; i++)
		if (strcmp(sec->keys[i].name, name) == 0)
			return &sec->keys[i];
	return NULL;
}

int
trk_cfg_check_keys(const char *file, const trk_ynode_t *map,
				   const section_t *sec, trk_diags_t *diags)
{
	int			errors = 0;

	for (size_t i = 0; i < map->n; i++)
	{
		const trk_ynode_t *k = map->pairs[i].key;
		const keydef_t *def = find_key(sec, k->text);
		size_t		len = strlen(k->text);

		if (def == NULL && len > 5 && strcmp(k->text + len - 5, "_path") == 0)
		{
			char	   *base = trk_strndup(k->text, len - 5);

			def = find_key(sec, base);
			if (def && !def->pathable)
				def = NULL;
			free(base);
		}
		if (def == NULL)
		{
			const char **names = trk_calloc(sec->nkeys * 2, sizeof(char *));
			char	  **owned = trk_calloc(sec->nkeys, sizeof(char *));
			size_t		n = 0;
			const char *s;

			for (size_t j = 0; j < sec->nkeys; j++)
			{
				names[n++] = sec->keys[j].name;
				if (sec->keys[j].pathable)
				{
					trk_buf_t	b = {0};

					trk_buf_appendf(&b, "%s_path", sec->keys[j].name);
					owned[j] = trk_buf_steal(&b);
					names[n++] = owned[j];
				}
			}
			s = trk_suggest(k->text, names, n);
			if (s)
				trk_diag_error(diags, file, k->line, k->col,
							   "unknown key \"%s\" in %s; did you mean \"%s\"?",
							   k->text, sec->title, s);
			else
			{
				trk_buf_t	list = {0};

				for (size_t j = 0; j < sec->nkeys; j++)
					trk_buf_appendf(&list, "%s%s", j ? ", " : "", sec->keys[j].name);
				trk_diag_error(diags, file, k->line, k->col,
							   "unknown key \"%s\" in %s (known keys: %s)",
							   k->text, sec->title, trk_buf_cstr(&list));
				trk_buf_free(&list);
			}
			for (size_t j = 0; j < sec->nkeys; j++)
				free(owned[j]);
			free(owned);
			free(names);
			errors++;
		}
	}
	return errors;
}

const trk_ynode_t *
trk_cfg_scalar(const char *file, const trk_ynode_t *map, const char *key,
			   trk_diags_t *diags)
{
	const trk_ynode_t *v = trk_ymap_get(map, key);

	if (v == NULL || v->kind == TRK_Y_NULL)
		return NULL;
	if (v->kind != TRK_Y_SCALAR)
	{
		trk_diag_error(diags, file, v->line, v->col,
					   "\"%s\" must be a single value, not %s", key, trk_ykind_name(v->kind));
		return NULL;
	}
	return v;
}

bool
trk_cfg_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char	   *end;
	long long	v;

	if (*s == '\0' || isspace((unsigned char) *s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool
trk_cfg_parse_size(const char *s, int64_t *out)
{
	static const struct
	{
		const char *unit;
		int64_t		mult;
	}			units[] = {
		{"", 1}, {"B", 1},
		{"kB", 1024}, {"KB", 1024}, {"KiB", 1024},
		{"MB", 1024 * 1024}, {"MiB", 1024 * 1024},
		{"GB", 1024LL * 1024 * 1024}, {"GiB", 1024LL * 1024 * 1024},
	};
	char	   *end;
	long long	v;

	if (!isdigit((unsigned char) *s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return false;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < NKEYS(units); i++)
		if (strcmp(end, units[i].unit) == 0)
		{
			if (v > INT64_MAX / units[i].mult)
				return false;
			*out = v * units[i].mult;
			return true;
		}
	return false;
}

bool
trk_cfg_enum_ok(const char *value, const char *values)
{
	size_t		len = strlen(value);
	const char *p = values;

	while (*p)
	{
		const char *bar = strchr(p, '|');
		size_t		n = bar ? (size_t) (bar - p) : strlen(p);

		if (n == len && strncmp(p, value, n) == 0)
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

/* parse_ident reads one identifier part; returns the position after it. */
static const char *
parse_ident(const char *p, char **out, const char **err)
{
	trk_buf_t	b = {0};

	if (*p == '"')
	{
		p++;
		for (;;)
		{
			if (*p == '\0')
			{
				*err = "unterminated quoted identifier";
				trk_buf_free(&b);
				return NULL;
			}
			if (*p == '"')
			{
				if (p[1] == '"')
				{
					trk_buf_appendc(&b, '"');
					p += 2;
					continue;
				}
				p++;
				break;
			}
			trk_buf_appendc(&b, *p++);
		}
		if (b.len == 0)
		{
			*err = "empty quoted identifier";
			trk_buf_free(&b);
			return NULL;
		}
	}
	else
	{
		if (!(isalpha((unsigned char) *p) || *p == '_' || (unsigned char) *p >= 0x80))
		{
			*err = "expected schema.table: a name starts with a letter or underscore "
				"(quote other names: \"My Table\")";
			return NULL;
		}
		while (isalnum((unsigned char) *p) || *p == '_' || *p == '$' || (unsigned char) *p >= 0x80)
		{
			trk_buf_appendc(&b, (char) tolower((unsigned char) *p));
			p++;
		}
	}
	*out = trk_buf_steal(&b);
	return p;
}

bool
trk_cfg_parse_table(const char *s, trk_table_name_t *out, const char **err)
{
	char	   *a = NULL,
			   *b = NULL;
	const char *p = parse_ident(s, &a, err);

	if (p == NULL)
		return false;
	if (*p == '.')
	{
		p = parse_ident(p + 1, &b, err);
		if (p == NULL)
		{
			free(a);
			return false;
		}
	}
	if (*p != '\0')
	{
		*err = "expected schema.table (quote names with other characters: \"My Table\")";
		free(a);
		free(b);
		return false;
	}
	if (b)
	{
		out->schema = a;
		out->name = b;
	}
	else
	{
		out->schema = trk_strdup("public");
		out->name = a;
	}
	return true;
}

static const char *
type_name(keytype_t t)
{
	switch (t)
	{
		case KT_STRING:
			return "string";
		case KT_INT:
			return "integer";
		case KT_PORT:
			return "port";
		case KT_SIZE:
			return "size";
		case KT_ENUM:
			return "one of";
		case KT_LIST:
			return "list";
		case KT_MAP:
			return "map";
	}
	return "?";
}

void
trk_config_print_keys(FILE *out)
{
	for (size_t i = 0; i < trk_config_nsections; i++)
	{
		const section_t *sec = &trk_config_sections[i];

		fprintf(out, "### `%s`\n\n| key | type | default | meaning |\n|---|---|---|---|\n",
				sec->title);
		for (size_t j = 0; j < sec->nkeys; j++)
		{
			const keydef_t *k = &sec->keys[j];
			trk_buf_t	name = {0};
			trk_buf_t	type = {0};

			trk_buf_appendf(&name, "`%s`", k->name);
			if (k->pathable)
				trk_buf_appendf(&name, " or `%s_path`", k->name);
			trk_buf_append(&type, type_name(k->type));
			if (k->enum_values)
			{
				/* a Markdown table cell: escape the bars */
				trk_buf_append(&type, " `");
				for (const char *e = k->enum_values; *e; e++)
				{
					if (*e == '|')
						trk_buf_appendc(&type, '\\');
					trk_buf_appendc(&type, *e);
				}
				trk_buf_appendc(&type, '`');
			}
			fprintf(out, "| %s | %s | %s | %s |\n", trk_buf_cstr(&name),
					trk_buf_cstr(&type),
					k->required ? "required" : (k->default_text ? k->default_text : "—"),
					k->help);
			trk_buf_free(&name);
			trk_buf_free(&type);
		}
		fputc('\n', out);
	}
}
