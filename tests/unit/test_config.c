/* test_config.c — trucker.yml and pipeline folders: good input and every class of bad. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "config/config.h"
#include "config/expand.h"

static char tmpdir[256];

/* put writes a file below tmpdir, creating its folder. */
static void
put(const char *rel, const char *text)
{
	char		path[512];
	char	   *slash;
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	(void) state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/trucker-test-config-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char		cmd[600];

	(void) state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* diag_lines formats every diagnostic, relative to tmpdir, one per line. */
static char *
diag_lines(trk_diags_t *d)
{
	trk_buf_t	b = {0};
	char		line[2048];
	size_t		prefix = strlen(tmpdir) + 1;

	trk_diags_sort(d);
	for (size_t i = 0; i < d->n; i++)
	{
		trk_diag_format(&d->items[i], line, sizeof(line));
		trk_buf_append(&b, strncmp(line, tmpdir, prefix - 1) == 0 ? line + prefix : line);
		trk_buf_appendc(&b, '\n');
	}
	return trk_buf_steal(&b);
}

static const char *const good_yml =
"connections:\n"
"  - name: source\n"
"    adapter: postgres\n"
"    host: db.example.org\n"
"    database: shop\n"
"    user: trucker\n"
"    pass: s3cret\n"
"  - name: warehouse\n"
"    adapter: postgres\n"
"    host: wh.example.org\n"
"    port: 6432\n";

static const char *const good_pipeline =
"input:  {connection: source, table: public.orders}\n"
"output: {connection: warehouse, table: public.orders_mirror, key: [id]}\n";

/* load_expect loads tmpdir and compares all diagnostics with want. */
static trk_config_t *
load_expect(const char *want)
{
	trk_diags_t d = {0};
	trk_config_t *cfg = trk_config_load(tmpdir, NULL, &d);
	char	   *got = diag_lines(&d);

	if (strcmp(got, want) != 0)
		print_error("diagnostics differ\n--- got:\n%s--- want:\n%s", got, want);
	assert_string_equal(got, want);
	free(got);
	trk_diags_free(&d);
	return cfg;
}

static void
test_good_folder(void **state)
{
	trk_config_t *cfg;
	const trk_pipeline_t *p;
	const trk_connection_t *c;

	(void) state;
	put("trucker.yml", good_yml);
	put("orders/config.yml", good_pipeline);
	put("notes/README.txt", "not a pipeline, ignored\n");
	cfg = load_expect("");
	assert_non_null(cfg);
	assert_int_equal(cfg->nconnections, 2);
	assert_int_equal(cfg->npipelines, 1);
	p = trk_config_pipeline(cfg, "orders");
	assert_non_null(p);
	assert_string_equal(p->input_table.schema, "public");
	assert_string_equal(p->input_table.name, "orders");
	assert_string_equal(p->output_table.name, "orders_mirror");
	assert_int_equal(p->nkey, 1);
	assert_string_equal(p->key[0], "id");
	assert_int_equal(p->operations, TRK_OP_ALL);
	assert_int_equal(p->batch_max_rows, 10000);
	assert_int_equal(p->batch_max_bytes, 16 * 1024 * 1024);
	assert_int_equal(p->batch_max_delay_ms, 100);
	assert_int_equal(p->on_error, TRK_ON_ERROR_STOP);
	c = trk_config_connection(cfg, "warehouse");
	assert_int_equal(c->primary.port, 6432);
	assert_string_equal(trk_config_connection(cfg, "source")->slot, "trucker_source");
	assert_int_equal(trk_config_connection(cfg, "source")->primary.port, 5432);
	trk_config_free(cfg);
}

static void
test_pipeline_options(void **state)
{
	trk_config_t *cfg;
	const trk_pipeline_t *p;

	(void) state;
	put("trucker.yml", good_yml);
	put("p/config.yml",
		"input:  {connection: source, table: Orders}\n"
		"output: {connection: warehouse, table: '\"Sales\".\"Big Orders\"'}\n"
		"operations: [insert, delete]\n"
		"batch: {max_rows: 500, max_bytes: 2MB, max_delay_ms: 0}\n"
		"on_error: dead_letter\n");
	cfg = load_expect("");
	p = trk_config_pipeline(cfg, "p");
	assert_string_equal(p->input_table.schema, "public");
	assert_string_equal(p->input_table.name, "orders");	/* folded */
	assert_string_equal(p->output_table.schema, "Sales");
	assert_string_equal(p->output_table.name, "Big Orders");
	assert_null(p->key);
	assert_int_equal(p->operations, TRK_OP_INSERT | TRK_OP_DELETE);
	assert_int_equal(p->batch_max_rows, 500);
	assert_int_equal(p->batch_max_bytes, 2 * 1024 * 1024);
	assert_int_equal(p->batch_max_delay_ms, 0);
	assert_int_equal(p->on_error, TRK_ON_ERROR_DEAD_LETTER);
	trk_config_free(cfg);
}

static void
test_config_json(void **state)
{
	trk_config_t *cfg;

	(void) state;
	put("trucker.yml", good_yml);
	put("j/config.json",
		"{\n"
		"  \"input\": {\"connection\": \"source\", \"table\": \"public.orders\"},\n"
		"  \"output\": {\"connection\": \"warehouse\", \"table\": \"public.x\"},\n"
		"  \"on_eror\": \"stop\"\n"
		"}\n");
	cfg = load_expect("j/config.json:4:3: error: unknown key \"on_eror\" in config.yml; did you mean \"on_error\"?\n");
	assert_null(cfg);
	put("j/config.json",
		"{\"input\": {\"connection\": \"source\", \"table\": \"public.orders\"},\n"
		" \"output\": {\"connection\": \"warehouse\", \"table\": \"public.x\"}}\n");
	cfg = load_expect("");
	assert_non_null(cfg);
	trk_config_free(cfg);
	put("j/config.yml", good_pipeline);
	cfg = load_expect("j/config.json: error: both config.yml and config.json exist: keep one\n");
	assert_null(cfg);
}

/* Three errors in three files give three lines, each with its position. */
static void
test_every_error_reported(void **state)
{
	(void) state;
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    hots: db\n"
		"  - name: warehouse\n"
		"    adapter: postgres\n");
	put("a/config.yml",
		"input:  {connection: sorce, table: public.orders}\n"
		"output: {connection: warehouse, table: public.a}\n");
	put("b/config.yml",
		"input:  {connection: source, table: public.orders}\n"
		"output: {connection: warehouse, table: public.b}\n"
		"operations: [insert, updte]\n");
	assert_null(load_expect(
		"a/config.yml:1:22: error: unknown connection \"sorce\"; did you mean \"source\"?\n"
		"b/config.yml:3:22: error: unknown operation \"updte\"; did you mean \"update\"?\n"
		"trucker.yml:4:5: error: unknown key \"hots\" in connections[]; did you mean \"host\"?\n"));
}

static void
test_malformed_yaml(void **state)
{
	(void) state;
	put("trucker.yml", good_yml);
	put("p/config.yml",
		"input:  {connection: source, table: public.orders\n"
		"output: {connection: warehouse, table: public.x}\n");
	assert_null(load_expect(
		"p/config.yml:2:7: error: invalid YAML: did not find expected ',' or '}' while parsing a flow mapping\n"));
}

static void
test_missing_keys(void **state)
{
	(void) state;
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"  - adapter: postgres\n");
	put("p/config.yml", "input: {connection: source}\n");
	assert_null(load_expect(
		"p/config.yml:1:1: error: missing required key \"output\"\n"
		"p/config.yml:1:8: error: input needs \"table\"\n"
		"trucker.yml:2:5: error: connection \"source\" has no \"adapter\" (postgres or ducklake)\n"
		"trucker.yml:3:5: error: connection has no \"name\"\n"));
}

static void
test_env_templating(void **state)
{
	trk_config_t *cfg;
	const trk_connection_t *c;

	(void) state;
	/* a hostile value must stay one scalar: no key injection, no comment */
	setenv("TRK_TEST_PASS", "a: b # c\n\"d\" 'e' \\f", 1);
	setenv("TRK_TEST_HOST", "h1.example.org", 1);
	unsetenv("TRK_TEST_UNSET");
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    host: {{ env(\"TRK_TEST_HOST\") }}   # from the environment\n"
		"    pass: {{ env(\"TRK_TEST_PASS\") }}\n"
		"    user: \"app-{{ env('TRK_TEST_UNSET', 'x') }}\"\n"
		"    database: {{ env(\"TRK_TEST_UNSET\", \"shop\") }}\n"
		"    # {{ env(\"TRK_TEST_UNSET\") }} in a comment is left alone\n");
	put("p/config.yml",
		"input:  {connection: source, table: public.orders}\n"
		"output: {connection: source, table: public.copy}\n");
	cfg = load_expect("");
	assert_non_null(cfg);
	c = trk_config_connection(cfg, "source");
	assert_string_equal(c->primary.host, "h1.example.org");
	assert_string_equal(c->primary.pass, "a: b # c\n\"d\" 'e' \\f");
	assert_string_equal(c->primary.user, "app-x");
	assert_string_equal(c->primary.database, "shop");
	trk_config_free(cfg);
}

static void
test_env_errors(void **state)
{
	(void) state;
	unsetenv("TRK_TEST_UNSET");
	setenv("TRK_TEST_HOST", "h", 1);
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    host: {{ env(\"TRK_TEST_HOST\") }}\n"
		"    pass: {{ env(\"TRK_TEST_UNSET\") }}\n"
		"    user: {{ enn(\"X\") }}\n"
		"    database: {{ env(\"X\"\n"
		"    slot: db-{{ env(\"TRK_TEST_HOST\") }}\n");
	put("p/config.yml", good_pipeline);
	assert_null(load_expect(
		"p/config.yml:2:22: error: unknown connection \"warehouse\" (not in trucker.yml)\n"
		"trucker.yml:5:11: error: environment variable \"TRK_TEST_UNSET\" is not set (give a default: env(\"TRK_TEST_UNSET\", \"value\"))\n"
		"trucker.yml:6:11: error: unknown function \"enn\"; did you mean \"env\"?\n"
		"trucker.yml:7:15: error: unterminated \"{{\" (a tag must end on the same line)\n"
		"trucker.yml:8:14: error: \"{{ }}\" that is only part of a value must sit inside a double-quoted string, e.g. host: \"db-{{ env('N') }}.example.org\"\n"));
}

/* Positions after an expansion on the same line refer to the original text. */
static void
test_positions_after_expansion(void **state)
{
	(void) state;
	setenv("TRK_TEST_LONG", "a-rather-long-value-that-shifts-columns", 1);
	put("trucker.yml",
		"connections:\n"
		"  - {name: {{ env(\"TRK_TEST_LONG\") }}, adapter: postgres, prot: 1}\n");
	put("p/config.yml", good_pipeline);
	assert_null(load_expect(
		"p/config.yml:1:22: error: unknown connection \"source\" (not in trucker.yml)\n"
		"p/config.yml:2:22: error: unknown connection \"warehouse\" (not in trucker.yml)\n"
		"trucker.yml:2:59: error: unknown key \"prot\" in connections[]; did you mean \"port\"?\n"));
}

static void
test_secret_files(void **state)
{
	trk_config_t *cfg;
	const trk_connection_t *c;

	(void) state;
	put("secrets/pass", "pa:ss#word\n");
	put("secrets/host", "db.internal\r\n");
	put("secrets/token", "tok\n\n");
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    host_path: secrets/host\n"
		"    pass_path: secrets/pass\n"
		"    user: {{ file(\"secrets/token\") }}\n"
		"    replica_host: replica.internal\n"
		"  - name: warehouse\n"
		"    adapter: postgres\n");
	put("p/config.yml", good_pipeline);
	cfg = load_expect("");
	assert_non_null(cfg);
	c = trk_config_connection(cfg, "source");
	assert_string_equal(c->primary.host, "db.internal");
	assert_string_equal(c->primary.pass, "pa:ss#word");
	assert_string_equal(c->primary.user, "tok\n");	/* one newline stripped */
	assert_true(c->has_replica);
	assert_string_equal(c->replica.host, "replica.internal");
	assert_int_equal(c->replica.port, 5432);
	assert_string_equal(c->replica.pass, "pa:ss#word");	/* defaults to pass */
	assert_string_equal(c->replica.user, "tok\n");
	trk_config_free(cfg);
}

static void
test_secret_errors(void **state)
{
	(void) state;
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    pass_path: missing/pass\n"
		"    user: {{ file(\"missing/user\") }}\n"
		"    host: a\n"
		"    host_path: b\n"
		"    replica_port: 5433\n");
	put("p/config.yml",
		"input:  {connection: source, table: public.orders}\n"
		"output: {connection: source, table: public.x}\n");
	{
		char		want[2048];

		snprintf(want, sizeof(want),
				 "trucker.yml:4:16: error: could not read \"%s/missing/pass\" for pass_path: No such file or directory\n"
				 "trucker.yml:5:11: error: could not read file \"%s/missing/user\": No such file or directory\n"
				 "trucker.yml:7:16: error: set either \"host\" or \"host_path\", not both\n"
				 "trucker.yml:8:19: error: \"replica_port\" has no effect without \"replica_host\"\n",
				 tmpdir, tmpdir);
		assert_null(load_expect(want));
	}
}

static void
test_connection_checks(void **state)
{
	(void) state;
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgress\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    port: 99999\n"
		"    sslmode: sometimes\n"
		"    slot: Bad-Slot\n"
		"    options: {sslrootcert: /ca.pem, aplication_name: x, password: y}\n"
		"  - name: lake\n"
		"    adapter: ducklake\n"
		"    host: x\n");
	put("p/config.yml",
		"input:  {connection: lake, table: public.orders}\n"
		"output: {connection: source, table: public.x}\n");
	assert_null(load_expect(
		"p/config.yml:1:22: error: input connection \"lake\" must be a postgres connection\n"
		"trucker.yml:3:14: error: unknown adapter \"postgress\"; did you mean \"postgres\"?\n"
		"trucker.yml:4:11: error: duplicate connection name \"source\"\n"
		"trucker.yml:6:11: error: \"port\" must be a port number from 1 to 65535, not \"99999\"\n"
		"trucker.yml:7:14: error: sslmode \"sometimes\" is not one of disable, allow, prefer, require, verify-ca, verify-full\n"
		"trucker.yml:8:11: error: slot name \"Bad-Slot\" must be 1 to 63 characters of a-z, 0-9 and '_'\n"
		"trucker.yml:9:37: error: unknown libpq option \"aplication_name\"; did you mean \"application_name\"?\n"
		"trucker.yml:9:57: error: libpq option \"password\" is set by the \"pass\" key of the connection, not in options\n"
		"trucker.yml:10:5: error: ducklake connection \"lake\" needs a \"catalog\"\n"
		"trucker.yml:10:5: error: ducklake connection \"lake\" needs a \"data_path\"\n"
		"trucker.yml:12:5: error: key \"host\" does not apply to a ducklake connection\n"));
}

static void
test_ducklake_catalogs(void **state)
{
	trk_config_t *cfg;
	char		want[512];

	(void) state;
	put("trucker.yml",
		"connections:\n"
		"  - {name: meta, adapter: postgres, database: lakemeta}\n"
		"  - {name: lake1, adapter: ducklake, catalog: meta, data_path: s3://bucket/lake/}\n"
		"  - {name: lake2, adapter: ducklake, catalog: 'postgres:dbname=m host=h', data_path: data}\n"
		"  - {name: lake3, adapter: ducklake, catalog: lake.ducklake, data_path: /abs/data/}\n");
	put("p/config.yml",
		"input:  {connection: meta, table: public.orders}\n"
		"output: {connection: lake1, table: main.orders, key: [id]}\n");
	cfg = load_expect("");
	assert_non_null(cfg);
	assert_int_equal(trk_config_connection(cfg, "lake1")->catalog_kind, TRK_CATALOG_CONNECTION);
	assert_string_equal(trk_config_connection(cfg, "lake1")->data_path, "s3://bucket/lake/");
	assert_int_equal(trk_config_connection(cfg, "lake2")->catalog_kind, TRK_CATALOG_CONNINFO);
	assert_string_equal(trk_config_connection(cfg, "lake2")->catalog, "dbname=m host=h");
	snprintf(want, sizeof(want), "%s/data", tmpdir);
	assert_string_equal(trk_config_connection(cfg, "lake2")->data_path, want);
	assert_int_equal(trk_config_connection(cfg, "lake3")->catalog_kind, TRK_CATALOG_DUCKDB_FILE);
	snprintf(want, sizeof(want), "%s/lake.ducklake", tmpdir);
	assert_string_equal(trk_config_connection(cfg, "lake3")->catalog, want);
	assert_string_equal(trk_config_connection(cfg, "lake3")->data_path, "/abs/data/");
	trk_config_free(cfg);
}

static void
test_pipeline_errors(void **state)
{
	(void) state;
	put("trucker.yml", good_yml);
	put("p/config.yml",
		"input:  {connection: source, table: \"public.\"}\n"
		"output: {connection: warehouse, table: public.x, key: id}\n"
		"operations: [insert, insert, truncate]\n"
		"batch: {max_rows: 0, max_bytes: 16XB, max_delay: 5}\n"
		"on_error: skip\n");
	assert_null(load_expect(
		"p/config.yml:1:37: error: bad table name \"public.\": expected schema.table: a name starts with a letter or underscore (quote other names: \"My Table\")\n"
		"p/config.yml:2:55: error: \"key\" must be a list of columns, e.g. key: [id]\n"
		"p/config.yml:3:22: error: operation \"insert\" is listed twice\n"
		"p/config.yml:3:30: error: operation \"truncate\" is not supported yet (insert, update and delete are)\n"
		"p/config.yml:4:19: error: max_rows must be a whole number of at least 1, not \"0\"\n"
		"p/config.yml:4:33: error: max_bytes must be a size of at least 1kB such as 16MB, not \"16XB\"\n"
		"p/config.yml:4:39: error: unknown key \"max_delay\" in batch; did you mean \"max_delay_ms\"?\n"
		"p/config.yml:5:11: error: on_error must be stop or dead_letter, not \"skip\"\n"));
}

static void
test_folder_errors(void **state)
{
	char		path[512];

	(void) state;
	put("trucker.yml", good_yml);
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	mkdir(path, 0700);
	put("nocfg/insert.sql", "INSERT INTO t VALUES ({{ new.id }})\n");
	put("yaml/config.yaml", good_pipeline);
	put("p/config.yml", good_pipeline);
	put("p/insrt.sql", "SELECT 1\n");
	put("p/delete.sql", "DELETE FROM t WHERE id = {{ old.id }}\n");
	put("q/config.yml",
		"input:  {connection: source, table: public.orders}\n"
		"output: {connection: warehouse, table: public.x}\n"
		"operations: [insert]\n");
	put("q/update.sql", "UPDATE t SET x = {{ new.x }} WHERE id = {{ old.id }}\n");
	assert_null(load_expect(
		"empty: error: empty pipeline folder: add a config.yml, or remove the folder\n"
		"nocfg: error: pipeline folder has no config.yml\n"
		"p/insrt.sql: error: unknown SQL file \"insrt.sql\"; did you mean \"insert.sql\"?\n"
		"q/update.sql: warning: update.sql is never used: \"update\" is not in operations\n"
		"yaml/config.yaml: error: rename config.yaml to config.yml\n"));
}

static void
test_no_pipelines(void **state)
{
	char		want[512];

	(void) state;
	put("trucker.yml", good_yml);
	snprintf(want, sizeof(want), "%s: error: no pipelines: each pipeline is a subfolder holding a config.yml\n",
			 tmpdir);
	/* the folder itself is named in full */
	{
		trk_diags_t d = {0};
		char		line[1024];

		assert_null(trk_config_load(tmpdir, NULL, &d));
		assert_int_equal(d.n, 1);
		trk_diag_format(&d.items[0], line, sizeof(line));
		strcat(line, "\n");
		assert_string_equal(line, want);
		trk_diags_free(&d);
	}
}

static void
test_missing_trucker_yml(void **state)
{
	(void) state;
	put("p/config.yml", good_pipeline);
	/* pipelines are still checked, but connection names cannot be */
	assert_null(load_expect("trucker.yml: error: could not read connections file: No such file or directory\n"));
}

static void
test_template_errors_positioned(void **state)
{
	(void) state;
	put("trucker.yml", good_yml);
	put("p/config.yml", good_pipeline);
	put("p/transform.sql", "SELECT {{ new.id }} AS id,\n       {{ nwe.name }} AS name\n");
	put("p/insert.sql", "INSERT INTO t VALUES ({{ transformed.id }}, {% if new.x %}1)\n");
	put("p/update.sql", "DELETE FROM t WHERE id = {{ old.id }}\n");
	put("p/delete.sql", "UPDATE t SET a = 1; DELETE FROM t\n");
	{
		trk_diags_t d = {0};
		char	   *got;

		assert_null(trk_config_load(tmpdir, NULL, &d));
		got = diag_lines(&d);
		/* one line per problem, each naming its file and position */
		assert_non_null(strstr(got, "p/transform.sql:2:11: error: "));
		assert_non_null(strstr(got, "did you mean \"new\"?"));
		if (strstr(got, "p/insert.sql:1:45: error: ") == NULL)
			print_error("%s", got);
		assert_non_null(strstr(got, "p/insert.sql:1:45: error: "));
		assert_non_null(strstr(got, "p/delete.sql:1:21: error: "));
		assert_null(strstr(got, "p/update.sql"));
		trk_diags_free(&d);
		free(got);
	}
}

static void
test_transform_must_select(void **state)
{
	(void) state;
	put("trucker.yml", good_yml);
	put("p/config.yml", good_pipeline);
	put("p/transform.sql", "-- enrich\n  UPDATE t SET x = {{ new.x }}\n");
	assert_null(load_expect(
		"p/transform.sql:2:3: error: transform.sql must be one SELECT: its rows become \"transformed\"\n"));
}

static void
test_connection_params(void **state)
{
	trk_config_t *cfg;
	const char *kw[TRK_CONN_MAX_PARAMS],
			   *val[TRK_CONN_MAX_PARAMS];
	const char *xk[] = {"replication", NULL},
			   *xv[] = {"database", NULL};
	size_t		n;

	(void) state;
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    host: db\n"
		"    pass: \"it's a 'pass' with spaces = and \\\\\"\n"
		"    sslmode: verify-full\n"
		"    options: {application_name: app, sslrootcert: /ca.pem}\n"
		"    replica_host: rep\n"
		"    replica_port: 5433\n");
	put("p/config.yml",
		"input:  {connection: source, table: public.orders}\n"
		"output: {connection: source, table: public.x}\n");
	cfg = load_expect("");
	n = trk_connection_params(trk_config_connection(cfg, "source"), false, kw, val, xk, xv);
	{
		trk_buf_t	b = {0};

		for (size_t i = 0; i < n; i++)
			trk_buf_appendf(&b, "%s=[%s] ", kw[i], val[i]);
		assert_string_equal(trk_buf_cstr(&b),
							"application_name=[app] sslrootcert=[/ca.pem] host=[db] "
							"password=[it's a 'pass' with spaces = and \\] sslmode=[verify-full] "
							"replication=[database] port=[5432] ");
		trk_buf_reset(&b);
		n = trk_connection_params(trk_config_connection(cfg, "source"), true, kw, val, NULL, NULL);
		for (size_t i = 0; i < n; i++)
			trk_buf_appendf(&b, "%s=[%s] ", kw[i], val[i]);
		assert_string_equal(trk_buf_cstr(&b),
							"application_name=[app] sslrootcert=[/ca.pem] host=[rep] "
							"password=[it's a 'pass' with spaces = and \\] sslmode=[verify-full] port=[5433] ");
		trk_buf_free(&b);
	}
	assert_null(kw[n]);
	trk_config_free(cfg);
}

static void
test_connections_flag(void **state)
{
	trk_config_t *cfg;
	char		file[512];
	trk_diags_t d = {0};

	(void) state;
	put("conf/other.yml", good_yml);
	put("p/config.yml", good_pipeline);
	snprintf(file, sizeof(file), "%s/conf/other.yml", tmpdir);
	cfg = trk_config_load(tmpdir, file, &d);
	assert_int_equal(d.nerrors, 0);
	assert_non_null(cfg);
	assert_int_equal(cfg->npipelines, 1);
	trk_config_free(cfg);
	trk_diags_free(&d);
}

static void
test_expand_block_and_quotes(void **state)
{
	trk_buf_t	out = {0};
	trk_srcmap_t map = {0};
	trk_diags_t d = {0};
	const char *text =
		"a: '{{ env(\"TRK_Q\") }}'\n"
		"b: \"x{{ env(\"TRK_Q\") }}y\"\n"
		"c: |\n"
		"  {{ env(\"TRK_Q\") }}\n"
		"d: [{{ env(\"TRK_Q\") }}, 2]\n";

	(void) state;
	setenv("TRK_Q", "it's \"q\"", 1);
	assert_int_equal(trk_expand("f.yml", text, strlen(text), ".", &out, &map, &d), 1);
	assert_string_equal(out.data,
						"a: 'it''s \"q\"'\n"
						"b: \"xit's \\\"q\\\"y\"\n"
						"c: |\n"
						"  {{ env(\"TRK_Q\") }}\n"
						"d: [\"it's \\\"q\\\"\", 2]\n");
	{
		char		line[512];

		trk_diag_format(&d.items[0], line, sizeof(line));
		assert_string_equal(line, "f.yml:4:3: error: \"{{\" inside a block scalar is not supported: write the value on one line");
	}
	/* a column after the expansion on line 5 maps back to the original */
	assert_int_equal(trk_srcmap_col(&map, 5, 17), 23);	/* the comma */
	assert_int_equal(trk_srcmap_col(&map, 5, 19), 25);
	assert_int_equal(trk_srcmap_col(&map, 5, 10), 5);	/* inside: the tag */
	assert_int_equal(trk_srcmap_col(&map, 5, 6), 5);
	assert_int_equal(trk_srcmap_col(&map, 1, 2), 2);
	trk_srcmap_free(&map);
	trk_buf_free(&out);
	trk_diags_free(&d);
}

static void
test_keys_table(void **state)
{
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);

	(void) state;
	trk_config_print_keys(f);
	fclose(f);
	assert_non_null(strstr(buf, "| `pass` or `pass_path` | string |"));
	assert_non_null(strstr(buf, "| `on_error` | one of `stop\\|dead_letter` | stop |"));
	free(buf);
}


/* One mistake must not hide the rest of the file. */
static void
test_errors_do_not_hide_others(void **state)
{
	(void) state;
	unsetenv("TRK_TEST_UNSET");
	put("trucker.yml",
		"connections:\n"
		"  - name: source\n"
		"    adapter: postgres\n"
		"    host: \"{{ env(\"TRK_TEST_UNSET\") }}\"\n"
		"    user: 'u{{ env(\"X\"'\n"
		"    user: again\n"
		"    hots: x\n");
	put("p/config.yml",
		"input:  {connection: source, table: t}\n"
		"input:  {connection: source, table: t}\n"
		"output: {conection: source, table: u}\n");
	assert_null(load_expect(
		"p/config.yml:2:1: error: duplicate key \"input\" (first at line 1)\n"
		"p/config.yml:3:9: error: output needs \"connection\"\n"
		"p/config.yml:3:10: error: unknown key \"conection\" in output; did you mean \"connection\"?\n"
		"trucker.yml:4:12: error: environment variable \"TRK_TEST_UNSET\" is not set (give a default: env(\"TRK_TEST_UNSET\", \"value\"))\n"
		"trucker.yml:5:13: error: unterminated \"{{\" (a tag must end on the same line)\n"
		"trucker.yml:6:5: error: duplicate key \"user\" (first at line 5)\n"
		"trucker.yml:7:5: error: unknown key \"hots\" in connections[]; did you mean \"host\"?\n"));
}

/* Required keys written as null, secrets in messages, shared slots, odd bytes. */
static void
test_null_secrets_slots(void **state)
{
	(void) state;
	setenv("TRK_TEST_SECRET", "hunter2\nforged: line", 1);
	put("secrets/port", "hunter3\n");
	put("trucker.yml",
		"connections:\n"
		"  - {name: a, adapter: }\n"
		"  - {name: ~, adapter: postgres}\n"
		"  - {name: l, adapter: ducklake, catalog: ~, data_path: }\n"
		"  - {name: b, adapter: postgres, port_path: secrets/port, sslmode: {{ env(\"TRK_TEST_SECRET\") }}}\n"
		"  - {name: c, adapter: postgres, slot: trucker_e}\n"
		"  - {name: d, adapter: postgres, name_path: x}\n"
		"  - {name: e, adapter: postgres}\n");
	put("p/config.yml",
		"input:  {connection: e, table: t}\n"
		"output: {connection: e, table: u}\n");
	assert_null(load_expect(
		"trucker.yml:2:5: error: connection \"a\" has no \"adapter\" (postgres or ducklake)\n"
		"trucker.yml:3:5: error: connection has no \"name\"\n"
		"trucker.yml:4:5: error: ducklake connection \"l\" needs a \"catalog\"\n"
		"trucker.yml:4:5: error: ducklake connection \"l\" needs a \"data_path\"\n"
		"trucker.yml:5:45: error: \"port\" must be a port number from 1 to 65535, not \"(a value from a file or the environment)\"\n"
		"trucker.yml:5:68: error: sslmode \"(a value from a file or the environment)\" is not one of disable, allow, prefer, require, verify-ca, verify-full\n"
		"trucker.yml:7:34: error: unknown key \"name_path\" in connections[]; did you mean \"pass_path\"?\n"
		"trucker.yml:8:5: error: connections \"c\" and \"e\" use the same replication slot \"trucker_e\": set \"slot\" on one of them\n"));
}

static void
test_odd_bytes(void **state)
{
	trk_config_t *cfg;

	(void) state;
	/* U+0085 and U+2028 are YAML line breaks: escaped, so nothing shifts */
	setenv("TRK_TEST_NEL", "x\xC2\x85y\xE2\x80\xA8z", 1);
	put("trucker.yml",
		"connections:\n"
		"  - name: a\n"
		"    adapter: postgres\n"
		"    pass: {{ env(\"TRK_TEST_NEL\") }}\n");
	put("p/config.yml", "input: {connection: a, table: t}\noutput: {connection: a, table: u}\n");
	cfg = load_expect("");
	assert_string_equal(trk_config_connection(cfg, "a")->primary.pass, "x\xC2\x85y\xE2\x80\xA8z");
	trk_config_free(cfg);
	/* invalid UTF-8 and NUL are reported where they are */
	put("p/config.yml", "input: {connection: a, table: t}\noutput: {connection: a, table: caf\xE9}\n");
	assert_null(load_expect("p/config.yml:2:35: error: invalid YAML: invalid trailing UTF-8 octet\n"));
	put("p/config.yml", "input: {connection: a, table: \"t\\0x\"}\noutput: {connection: a, table: u}\n");
	assert_null(load_expect("p/config.yml:1:31: error: value holds a NUL character, which no configuration value may\n"));
}

/* fingerprint_of loads tmpdir and copies pipeline "orders"'s fingerprint */
static void
fingerprint_of(char *out)
{
	trk_config_t *cfg = load_expect("");

	assert_non_null(cfg);
	assert_int_equal(strlen(trk_config_pipeline(cfg, "orders")->fingerprint), 16);
	snprintf(out, 17, "%s", trk_config_pipeline(cfg, "orders")->fingerprint);
	trk_config_free(cfg);
}

/*
 * The fingerprint follows what a pipeline's output is made of — input,
 * output, key, operations, SQL files — and nothing else.
 */
static void
test_fingerprint(void **state)
{
	char		a[17],
				b[17];

	(void) state;
	put("trucker.yml", good_yml);
	put("orders/config.yml", good_pipeline);
	put("orders/insert.sql", "INSERT INTO orders_mirror VALUES ({{ new.id }})\n");
	fingerprint_of(a);
	fingerprint_of(b);
	assert_string_equal(a, b);	/* stable from one load to the next */
	/* how, not what: the same */
	put("orders/config.yml", "input:  {connection: source, table: public.orders}\n"
		"output: {connection: warehouse, table: public.orders_mirror, key: [id]}\n"
		"batch: {max_rows: 10}\non_error: dead_letter\nbackfill: {workers: 8}\n");
	fingerprint_of(b);
	assert_string_equal(a, b);
	/* what: different */
	put("orders/insert.sql", "INSERT INTO orders_mirror VALUES ({{ new.id }} + 1)\n");
	fingerprint_of(b);
	assert_string_not_equal(a, b);
	put("orders/insert.sql", "INSERT INTO orders_mirror VALUES ({{ new.id }})\n");
	fingerprint_of(b);
	assert_string_equal(a, b);
	put("orders/config.yml", "input:  {connection: source, table: public.orders}\n"
		"output: {connection: warehouse, table: public.orders_mirror, key: [id, ts]}\n");
	fingerprint_of(b);
	assert_string_not_equal(a, b);
	put("orders/config.yml", "input:  {connection: source, table: public.orders}\n"
		"output: {connection: warehouse, table: public.orders_mirror, key: [id]}\n"
		"operations: [insert]\n");
	fingerprint_of(b);
	assert_string_not_equal(a, b);
	put("orders/config.yml", "input:  {connection: source, table: public.orders2}\n"
		"output: {connection: warehouse, table: public.orders_mirror, key: [id]}\n");
	fingerprint_of(b);
	assert_string_not_equal(a, b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_folder),
		T(test_pipeline_options),
		T(test_config_json),
		T(test_every_error_reported),
		T(test_malformed_yaml),
		T(test_missing_keys),
		T(test_env_templating),
		T(test_env_errors),
		T(test_positions_after_expansion),
		T(test_secret_files),
		T(test_secret_errors),
		T(test_connection_checks),
		T(test_ducklake_catalogs),
		T(test_pipeline_errors),
		T(test_folder_errors),
		T(test_no_pipelines),
		T(test_missing_trucker_yml),
		T(test_template_errors_positioned),
		T(test_transform_must_select),
		T(test_connection_params),
		T(test_connections_flag),
		T(test_expand_block_and_quotes),
		T(test_keys_table),
		T(test_errors_do_not_hide_others),
		T(test_null_secrets_slots),
		T(test_odd_bytes),
		T(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
