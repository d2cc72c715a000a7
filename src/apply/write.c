/* write.c — binding insert.sql, update.sql and delete.sql to one change. */
#include "apply/write.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a value longer than this is cut in descriptions */
#define DESCRIBE_MAX 200

int
trk_write_bind(trk_template_t *t, trk_vars_t *vars, trk_write_t *w, trk_buf_t *err)
{
	size_t		need = (size_t) trk_template_max_params(t) + 1;

	if (need > w->cap)
	{
		w->values = trk_realloc(w->values, need * sizeof(trk_value_t));
		w->texts = trk_realloc(w->texts, need * sizeof(char *));
		w->types = trk_realloc(w->types, need * sizeof(uint32_t));
		w->cap = need;
	}
	w->stmt = NULL;
	if (trk_template_bind(t, trk_vars_lookup, vars, &w->stmt, w->values, err) != 0)
		return -1;
	for (int i = 0; i < w->stmt->nparams; i++)
	{
		const trk_value_t *v = &w->values[i];

		w->texts[i] = v->kind == TRK_V_NULL || v->kind == TRK_V_ABSENT ? NULL : v->text;
		w->types[i] = trk_vars_param_type(vars, w->stmt->params[i]);
	}
	return 0;
}

/* redacted: label's column ("new.x" → x) is one to keep out of the log */
static bool
redacted(const char *label, char *const *redact, size_t nredact)
{
	const char *dot = strchr(label, '.');

	if (dot == NULL || strncmp(label, "meta.", 5) == 0)
		return false;
	for (size_t i = 0; i < nredact; i++)
		if (strcmp(redact[i], dot + 1) == 0)
			return true;
	return false;
}

void
trk_write_describe_param(trk_buf_t *out, size_t n, const char *label, const char *text,
						 char *const *redact, size_t nredact)
{
	size_t		len;

	if (out->len > 0)
		trk_buf_append(out, ", ");
	trk_buf_appendf(out, "$%zu %s = ", n, label);
	if (redacted(label, redact, nredact))
	{
		trk_buf_append(out, "[redacted]");
		return;
	}
	if (text == NULL)
	{
		trk_buf_append(out, "NULL");
		return;
	}
	len = strlen(text);
	trk_buf_appendc(out, '\'');
	for (size_t i = 0; i < len && i < DESCRIBE_MAX; i++)
	{
		if (text[i] == '\'')
			trk_buf_appendc(out, '\'');
		trk_buf_appendc(out, text[i]);
	}
	trk_buf_appendc(out, '\'');
	if (len > DESCRIBE_MAX)
		trk_buf_appendf(out, " (first %d of %zu bytes)", DESCRIBE_MAX, len);
}

void
trk_write_describe(const trk_write_t *w, char *const *redact, size_t nredact, trk_buf_t *out)
{
	if (w->stmt == NULL)
		return;
	for (int i = 0; i < w->stmt->nparams; i++)
	{
		const trk_ref_t *ref = w->stmt->params[i];
		char		label[160];

		if (ref->field)
			snprintf(label, sizeof(label), "%s.%s", trk_root_name(ref->root), ref->field);
		else
			snprintf(label, sizeof(label), "%s", trk_root_name(ref->root));
		trk_write_describe_param(out, (size_t) i + 1, label, w->texts[i], redact, nredact);
	}
}

void
trk_write_free(trk_write_t *w)
{
	free(w->values);
	free(w->texts);
	free(w->types);
	memset(w, 0, sizeof(*w));
}
