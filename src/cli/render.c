/* render.c — `trucker render`: the SQL a pipeline would run for a change. */
#include "cli/cli.h"
#include "apply/mirror.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/mem.h"
#include "config/config.h"
#include "decode/json.h"
#include "decode/wal2json.h"
#include "template/vars.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct row
{
	trk_column_t *cols;
	size_t		ncols;
} row_t;

typedef struct render
{
	const trk_pipeline_t *p;
	bool		ducklake;		/* the output is a DuckLake */
	row_t	   *transformed;	/* --transformed rows; NULL when not given */
	size_t		ntransformed;
	bool		have_transformed;
	trk_vars_t	tx;				/* transaction context from B */
	char	   *commit_time;	/* owned; tx.commit_time points here */
	int			errors;
	trk_value_t *values;		/* scratch for template binding */
	size_t		nvalues;
} render_t;

static void
render_usage(FILE *out)
{
	fprintf(out,
			"Usage: trucker render [OPTIONS] DIR/PIPELINE\n"
			"\n"
			"Print each statement PIPELINE would run for a change, with its parameter\n"
			"values, without connecting to anything.\n"
			"\n"
			"The change, either:\n"
			"      --change FILE    wal2json format-2 messages, one per line ('-': stdin);\n"
			"                       B and C lines give meta.end_lsn, xid and commit_time\n"
			"  or  --op OP          insert, update or delete, with\n"
			"      --new JSON       the new row, e.g. '{\"id\":1,\"name\":\"x\"}'\n"
			"      --old JSON       the old row (its key at least, for update and delete)\n"
			"      --pk COLS        the input table's primary key, comma-separated (wal2json\n"
			"                       lines carry it; a typed row does not), e.g. --pk id\n"
			"Options:\n"
			"      --transformed JSON  the rows transform.sql would return: an object or a\n"
			"                       list of objects (transform.sql needs a database)\n"
			"  -c, --config FILE    connections file (default: $TRUCKER_CONFIG, else\n"
			"                       trucker.yml beside the pipeline folder)\n"
			"  -h, --help           show this help\n");
}

/* print_literal writes v as a SQL literal, so the output can be pasted. */
static void
print_literal(const trk_value_t *v)
{
	bool		escape;

	if (v->kind == TRK_V_NULL || v->kind == TRK_V_ABSENT || v->text == NULL)
	{
		fputs("NULL", stdout);
		return;
	}
	/* E'' keeps the literal on its "--" line: newlines become \n */
	escape = memchr(v->text, '\\', v->len) || memchr(v->text, '\n', v->len) ||
		memchr(v->text, '\r', v->len);

	if (escape)
		fputc('E', stdout);
	fputc('\'', stdout);
	for (size_t i = 0; i < v->len; i++)
	{
		char		c = v->text[i];

		if (c == '\'')
			fputs("''", stdout);
		else if (escape && c == '\\')
			fputs("\\\\", stdout);
		else if (escape && c == '\n')
			fputs("\\n", stdout);
		else if (escape && c == '\r')
			fputs("\\r", stdout);
		else
			fputc(c, stdout);
	}
	fputc('\'', stdout);
}

static void
print_param(size_t n, const char *label, const trk_value_t *v)
{
	printf("--   $%zu  %s", n, label);
	if (v->type)
		printf(" (%s)", v->type);
	fputs(" = ", stdout);
	print_literal(v);
	fputc('\n', stdout);
}

/* fail reports one error; what is NULL when msg names its own position. */
static void
fail(render_t *r, const char *what, const char *msg)
{
	printf("-- error: %s\n", msg);
	if (what)
		fprintf(stderr, "trucker render: %s: %s\n", what, msg);
	else
		fprintf(stderr, "trucker render: %s\n", msg);
	r->errors++;
}

static int
render_template(render_t *r, trk_sql_kind_t kind, trk_vars_t *vars)
{
	trk_template_t *t = r->p->sql[kind];
	const trk_stmt_t *st;
	trk_buf_t	err = {0};
	size_t		need = (size_t) trk_template_max_params(t);

	if (need > r->nvalues)
	{
		r->values = trk_realloc(r->values, need * sizeof(trk_value_t));
		r->nvalues = need;
	}
	printf("-- %s\n", trk_sql_kind_file(kind));
	if (trk_template_bind(t, trk_vars_lookup, vars, &st, r->values, &err) != 0)
	{
		fail(r, NULL, trk_buf_cstr(&err));
		trk_buf_free(&err);
		return -1;
	}
	printf("%s;\n", st->sql);
	for (int i = 0; i < st->nparams; i++)
	{
		char		label[160];
		const trk_ref_t *ref = st->params[i];

		if (ref->field)
			snprintf(label, sizeof(label), "%s.%s", trk_root_name(ref->root), ref->field);
		else
			snprintf(label, sizeof(label), "%s", trk_root_name(ref->root));
		print_param((size_t) i + 1, label, &r->values[i]);
	}
	trk_buf_free(&err);
	return 0;
}

static int
render_mirror(render_t *r, const trk_change_t *c, const row_t *row)
{
	trk_mirror_stmt_t st = {0};
	trk_buf_t	err = {0};
	int			rc = 0;

	if (r->ducklake)
	{
		/* DuckLake has no unique keys: its adapter merges instead */
		printf("-- default mirror into a DuckLake: not rendered by this version\n");
		return 0;
	}
	printf("-- default mirror\n");
	if (trk_mirror_build(&r->p->output_table, r->p->key, r->p->nkey, c,
						 row ? row->cols : NULL, row ? row->ncols : 0, &st, &err) != 0)
	{
		fail(r, "default mirror", trk_buf_cstr(&err));
		rc = -1;
	}
	else
	{
		printf("%s;\n", trk_buf_cstr(&st.sql));
		for (size_t i = 0; i < st.nparams; i++)
			print_param(i + 1, st.params[i].label, &st.params[i].value);
	}
	trk_mirror_stmt_free(&st);
	trk_buf_free(&err);
	return rc;
}

/* render_write renders the write for one change and (maybe) one row. */
static void
render_write(render_t *r, const trk_change_t *c, const row_t *row)
{
	trk_sql_kind_t kind = c->action == TRK_ACT_INSERT ? TRK_SQL_INSERT :
		c->action == TRK_ACT_UPDATE ? TRK_SQL_UPDATE : TRK_SQL_DELETE;
	trk_vars_t	vars = r->tx;

	vars.change = c;
	vars.transformed = row ? row->cols : NULL;
	vars.ntransformed = row ? row->ncols : 0;
	if (r->p->sql[kind])
		render_template(r, kind, &vars);
	else
		render_mirror(r, c, row);
}

static void
render_change(render_t *r, const trk_change_t *c, size_t n)
{
	const trk_pipeline_t *p = r->p;
	char		lsn[TRK_LSN_BUFSIZE];
	unsigned	op = c->action == TRK_ACT_INSERT ? TRK_OP_INSERT :
		c->action == TRK_ACT_UPDATE ? TRK_OP_UPDATE : TRK_OP_DELETE;
	trk_vars_t	vars = r->tx;

	printf("-- change %zu: %s on %s.%s", n, trk_change_op_name(c->action), c->schema, c->table);
	if (c->lsn)
		printf(" at %s", trk_lsn_format(c->lsn, lsn));
	printf("\n");
	if (strcmp(c->schema, p->input_table.schema) != 0 || strcmp(c->table, p->input_table.name) != 0)
	{
		printf("-- skipped: pipeline \"%s\" reads %s.%s\n\n", p->name,
			   p->input_table.schema, p->input_table.name);
		return;
	}
	if (!(p->operations & op))
	{
		printf("-- skipped: \"%s\" is not in operations\n\n", trk_change_op_name(c->action));
		return;
	}
	vars.change = c;
	if (p->sql[TRK_SQL_TRANSFORM])
	{
		if (render_template(r, TRK_SQL_TRANSFORM, &vars) != 0)
		{
			printf("\n");
			return;
		}
		if (!r->have_transformed)
		{
			printf("-- transform.sql runs on the input database: pass --transformed to render the writes\n\n");
			return;
		}
		if (r->ntransformed == 0)
		{
			if (c->action == TRK_ACT_DELETE && p->sql[TRK_SQL_DELETE] == NULL)
				render_write(r, c, NULL);
			else
				printf("-- transform.sql returned no row: the change is skipped\n");
		}
		for (size_t i = 0; i < r->ntransformed; i++)
			render_write(r, c, &r->transformed[i]);
	}
	else
		render_write(r, c, NULL);
	printf("\n");
}

/* parse_rows reads --transformed: one object or a list of objects. */
static int
parse_rows(trk_arena_t *a, const char *json, row_t **rows, size_t *nrows, trk_buf_t *err)
{
	const trk_json_t *doc = trk_json_parse(a, json, strlen(json), err);
	const trk_json_t *it;
	size_t		i = 0;

	if (doc == NULL)
		return -1;
	if (doc->kind == TRK_JSON_OBJECT)
	{
		*rows = trk_calloc(1, sizeof(row_t));
		*nrows = 1;
		return trk_wal2json_row_from_object(a, doc->src, doc->srclen, &(*rows)[0].cols,
											&(*rows)[0].ncols, err);
	}
	if (doc->kind != TRK_JSON_ARRAY)
	{
		trk_buf_append(err, "expected an object or a list of objects");
		return -1;
	}
	*rows = trk_calloc(doc->n, sizeof(row_t));
	*nrows = doc->n;
	for (it = doc->child; it; it = it->next, i++)
	{
		if (it->kind != TRK_JSON_OBJECT)
		{
			trk_buf_appendf(err, "element %zu is not an object", i + 1);
			return -1;
		}
		if (trk_wal2json_row_from_object(a, it->src, it->srclen, &(*rows)[i].cols,
										 &(*rows)[i].ncols, err) != 0)
			return -1;
	}
	return 0;
}

static int
read_input(const char *path, trk_buf_t *out)
{
	if (strcmp(path, "-") == 0)
	{
		char		chunk[65536];
		size_t		n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			trk_buf_appendn(out, chunk, n);
		if (out->data == NULL)
			trk_buf_appendn(out, "", 0);
		return ferror(stdin) ? -1 : 0;
	}
	return trk_file_read(path, out);
}

/* render_stream renders every message of a wal2json format-2 stream. */
static int
render_stream(render_t *r, const char *path)
{
	trk_buf_t	text = {0};
	trk_buf_t	err = {0};
	trk_arena_t arena = {0};
	const char *p;
	const char *end;
	size_t		lineno = 0;
	size_t		nchange = 0;

	if (read_input(path, &text) != 0)
	{
		fprintf(stderr, "trucker render: could not read \"%s\": %s\n", path, strerror(errno));
		trk_buf_free(&text);
		return TRK_EXIT_FAIL;
	}
	p = text.data;
	end = text.data + text.len;
	while (p < end)
	{
		const char *eol = memchr(p, '\n', (size_t) (end - p));
		size_t		len;
		trk_change_t c;
		const char *s;

		if (eol == NULL)
			eol = end;
		len = (size_t) (eol - p);
		lineno++;
		for (s = p; s < eol && (*s == ' ' || *s == '\t' || *s == '\r'); s++)
			;
		if (s == eol)
		{
			p = eol + (eol < end);
			continue;
		}
		trk_arena_reset(&arena);
		trk_buf_reset(&err);
		if (trk_wal2json_decode(&arena, p, len, &c, &err) != 0)
		{
			fprintf(stderr, "%s:%zu: error: %s\n", path, lineno, trk_buf_cstr(&err));
			r->errors++;
			p = eol + (eol < end);
			continue;
		}
		switch (c.action)
		{
			case TRK_ACT_BEGIN:
				/* keep what meta.* needs from the transaction's B */
				r->tx.end_lsn = c.nextlsn;
				r->tx.has_xid = c.has_xid;
				r->tx.xid = c.xid;
				free(r->commit_time);
				r->commit_time = c.timestamp ? trk_strdup(c.timestamp) : NULL;
				r->tx.commit_time = r->commit_time;
				break;
			case TRK_ACT_COMMIT:
				free(r->commit_time);
				r->commit_time = NULL;
				memset(&r->tx, 0, sizeof(r->tx));
				break;
			case TRK_ACT_INSERT:
			case TRK_ACT_UPDATE:
			case TRK_ACT_DELETE:
				render_change(r, &c, ++nchange);
				break;
			case TRK_ACT_TRUNCATE:
				printf("-- truncate of %s.%s: not applied by this version\n\n", c.schema, c.table);
				break;
			case TRK_ACT_MESSAGE:
				break;
		}
		p = eol + (eol < end);
	}
	free(r->commit_time);
	r->commit_time = NULL;
	r->tx.commit_time = NULL;
	trk_arena_free(&arena);
	trk_buf_free(&err);
	trk_buf_free(&text);
	if (nchange == 0 && r->errors == 0)
	{
		fprintf(stderr, "trucker render: \"%s\" holds no insert, update or delete\n", path);
		return TRK_EXIT_FAIL;
	}
	return r->errors ? TRK_EXIT_FAIL : TRK_EXIT_OK;
}

/* split_pk turns "a,b" into arena strings. */
static void
split_pk(trk_arena_t *a, const char *pk, trk_change_t *c)
{
	size_t		n = 1;
	const char *p = pk;

	for (const char *s = pk; *s; s++)
		n += *s == ',';
	c->pk = trk_arena_calloc(a, n, sizeof(char *));
	c->npk = 0;
	while (*p)
	{
		size_t		len = strcspn(p, ",");

		if (len > 0)
			c->pk[c->npk++] = trk_arena_strndup(a, p, len);
		p += len + (p[len] == ',');
	}
}

static int
render_manual(render_t *r, trk_arena_t *a, const char *op, const char *newj,
			  const char *oldj, const char *pk)
{
	trk_change_t c = {0};
	trk_buf_t	err = {0};
	int			rc = TRK_EXIT_USAGE;

	if (strcmp(op, "insert") == 0)
		c.action = TRK_ACT_INSERT;
	else if (strcmp(op, "update") == 0)
		c.action = TRK_ACT_UPDATE;
	else if (strcmp(op, "delete") == 0)
		c.action = TRK_ACT_DELETE;
	else
	{
		fprintf(stderr, "trucker render: --op must be insert, update or delete\n");
		goto done;
	}
	if (c.action != TRK_ACT_DELETE && newj == NULL)
	{
		fprintf(stderr, "trucker render: --op %s needs --new\n", op);
		goto done;
	}
	if (c.action != TRK_ACT_INSERT && oldj == NULL)
	{
		fprintf(stderr, "trucker render: --op %s needs --old: the old row as the table logs it "
				"(its key, or the whole row with REPLICA IDENTITY FULL)\n", op);
		goto done;
	}
	if (c.action == TRK_ACT_INSERT && oldj != NULL)
	{
		fprintf(stderr, "trucker render: an insert has no old row: drop --old\n");
		goto done;
	}
	if (c.action == TRK_ACT_DELETE && newj != NULL)
	{
		fprintf(stderr, "trucker render: a delete has no new row: drop --new\n");
		goto done;
	}
	c.schema = r->p->input_table.schema;
	c.table = r->p->input_table.name;
	if (newj && trk_wal2json_row_from_object(a, newj, strlen(newj), &c.columns, &c.ncolumns, &err) != 0)
	{
		fprintf(stderr, "trucker render: --new: %s\n", trk_buf_cstr(&err));
		goto done;
	}
	if (oldj && trk_wal2json_row_from_object(a, oldj, strlen(oldj), &c.identity, &c.nidentity, &err) != 0)
	{
		fprintf(stderr, "trucker render: --old: %s\n", trk_buf_cstr(&err));
		goto done;
	}
	if (pk)
		split_pk(a, pk, &c);
	render_change(r, &c, 1);
	if (r->errors && pk == NULL && r->p->key == NULL)
		fprintf(stderr, "trucker render: hint: a typed row has no primary key: pass --pk\n");
	rc = r->errors ? TRK_EXIT_FAIL : TRK_EXIT_OK;

done:
	trk_buf_free(&err);
	return rc;
}

int
trk_cmd_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"change", required_argument, NULL, 'f'},
		{"op", required_argument, NULL, 'o'},
		{"new", required_argument, NULL, 'n'},
		{"old", required_argument, NULL, 'd'},
		{"transformed", required_argument, NULL, 't'},
		{"pk", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_flag = NULL;
	const char *change = NULL,
			   *op = NULL,
			   *newj = NULL,
			   *oldj = NULL,
			   *pk = NULL,
			   *transformed = NULL;
	trk_diags_t diags = {0};
	trk_config_t *cfg = NULL;
	render_t	r = {0};
	trk_arena_t arena = {0};
	trk_buf_t	err = {0};
	char	   *pdir = NULL,
			   *base = NULL,
			   *file = NULL;
	const char *name;
	int			c;
	int			rc = TRK_EXIT_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				config_flag = optarg;
				break;
			case 'f':
				change = optarg;
				break;
			case 'o':
				op = optarg;
				break;
			case 'n':
				newj = optarg;
				break;
			case 'd':
				oldj = optarg;
				break;
			case 't':
				transformed = optarg;
				break;
			case 'p':
				pk = optarg;
				break;
			case 'h':
				render_usage(stdout);
				return TRK_EXIT_OK;
			default:
				render_usage(stderr);
				return TRK_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (change == NULL) == (op == NULL))
	{
		if (optind == argc - 1)
			fprintf(stderr, "trucker render: give either --change or --op\n");
		render_usage(stderr);
		return TRK_EXIT_USAGE;
	}
	if (change && (newj || oldj || pk))
	{
		fprintf(stderr, "trucker render: --new, --old and --pk go with --op, not --change\n");
		return TRK_EXIT_USAGE;
	}

	/* DIR/PIPELINE: the pipeline is the last part, trucker.yml sits in DIR */
	pdir = realpath(argv[optind], NULL);
	if (pdir == NULL)
		pdir = trk_strdup(argv[optind]);	/* reported below as a missing folder */
	while (strlen(pdir) > 1 && pdir[strlen(pdir) - 1] == '/')
		pdir[strlen(pdir) - 1] = '\0';
	name = strrchr(pdir, '/') ? strrchr(pdir, '/') + 1 : pdir;
	base = trk_path_dirname(pdir);
	file = trk_cli_connections_file(config_flag, base);

	rc = TRK_EXIT_FAIL;
	cfg = trk_config_load_connections(file, &diags);
	if (cfg == NULL || trk_config_load_pipeline(cfg, pdir, name, &diags) != 0)
	{
		trk_diags_sort(&diags);
		trk_diags_print(&diags, stderr);
		goto done;
	}
	trk_diags_print(&diags, stderr);	/* warnings */
	r.p = trk_config_pipeline(cfg, name);
	r.ducklake = trk_config_connection(cfg, r.p->output_connection)->adapter == TRK_ADAPTER_DUCKLAKE;

	if (transformed)
	{
		if (r.p->sql[TRK_SQL_TRANSFORM] == NULL)
		{
			fprintf(stderr, "trucker render: --transformed needs a pipeline with transform.sql\n");
			rc = TRK_EXIT_USAGE;
			goto done;
		}
		if (parse_rows(&arena, transformed, &r.transformed, &r.ntransformed, &err) != 0)
		{
			fprintf(stderr, "trucker render: --transformed: %s\n", trk_buf_cstr(&err));
			rc = TRK_EXIT_USAGE;
			goto done;
		}
		r.have_transformed = true;
	}
	if (change)
		rc = render_stream(&r, change);
	else
		rc = render_manual(&r, &arena, op, newj, oldj, pk);

done:
	free(r.transformed);
	free(r.values);
	trk_arena_free(&arena);
	trk_buf_free(&err);
	trk_config_free(cfg);
	trk_diags_free(&diags);
	free(pdir);
	free(base);
	free(file);
	return rc;
}
