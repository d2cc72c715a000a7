/* yamltree.c — libyaml documents turned into positioned trees. */
#include "config/yamltree.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bounds that keep hostile input (deep nesting, alias bombs) cheap. */
#define MAX_DEPTH	64
#define MAX_NODES	100000
#define MAX_MAP_KEYS 1000		/* no section of trucker's has nearly as many */

typedef struct
{
	const char *file;
	const trk_srcmap_t *map;
	trk_diags_t *diags;
	yaml_document_t *doc;
	size_t		nodes;
	bool		failed;
} builder_t;

static void
position(const builder_t *b, yaml_mark_t mark, int *line, int *col)
{
	*line = (int) mark.line + 1;
	*col = (int) mark.column + 1;
	if (b->map)
		*col = trk_srcmap_col(b->map, *line, *col);
}

static bool
is_null_scalar(const yaml_node_t *n)
{
	const char *v = (const char *) n->data.scalar.value;
	size_t		len = n->data.scalar.length;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return len == 0 || (len == 1 && v[0] == '~') ||
		(len == 4 && (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 ||
					  memcmp(v, "NULL", 4) == 0));
}

/*
 * find_key returns the key node already in map named name, or NULL.  Linear:
 * configuration maps are small, and MAX_MAP_KEYS keeps hostile ones cheap.
 */
static const trk_ynode_t *
find_key(const trk_ynode_t *map, const char *name)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->text, name) == 0)
			return map->pairs[i].key;
	return NULL;
}

static trk_ynode_t *
build(builder_t *b, yaml_node_t *yn, int depth)
{
	trk_ynode_t *node;

	if (++b->nodes > MAX_NODES || depth > MAX_DEPTH)
	{
		if (!b->failed)
		{
			int			line,
						col;

			position(b, yn->start_mark, &line, &col);
			trk_diag_error(b->diags, b->file, line, col, "document is too large or too deeply nested");
		}
		b->failed = true;
		return NULL;
	}
	node = trk_calloc(1, sizeof(*node));
	position(b, yn->start_mark, &node->line, &node->col);
	switch (yn->type)
	{
		case YAML_SCALAR_NODE:
			node->kind = is_null_scalar(yn) ? TRK_Y_NULL : TRK_Y_SCALAR;
			node->text = trk_strndup((const char *) yn->data.scalar.value,
									 yn->data.scalar.length);
			node->len = yn->data.scalar.length;
			node->quoted = yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
			if (memchr(node->text, '\0', node->len) != NULL)
				trk_diag_error(b->diags, b->file, node->line, node->col,
							   "value holds a NUL character, which no configuration value may");
			break;
		case YAML_SEQUENCE_NODE:
			{
				yaml_node_item_t *it = yn->data.sequence.items.start;
				size_t		count = (size_t) (yn->data.sequence.items.top - it);

				node->kind = TRK_Y_SEQ;
				node->items = trk_calloc(count, sizeof(*node->items));
				for (size_t i = 0; i < count && !b->failed; i++)
				{
					node->items[i] = build(b, yaml_document_get_node(b->doc, it[i]), depth + 1);
					node->n = i + 1;
				}
				break;
			}
		case YAML_MAPPING_NODE:
			{
				yaml_node_pair_t *pr = yn->data.mapping.pairs.start;
				size_t		count = (size_t) (yn->data.mapping.pairs.top - pr);

				if (count > MAX_MAP_KEYS)
				{
					trk_diag_error(b->diags, b->file, node->line, node->col,
								   "map has %zu keys, more than the %d trucker accepts", count, MAX_MAP_KEYS);
					b->failed = true;
					node->kind = TRK_Y_NULL;
					break;
				}

				node->kind = TRK_Y_MAP;
				node->pairs = trk_calloc(count, sizeof(*node->pairs));
				for (size_t i = 0; i < count && !b->failed; i++)
				{
					trk_ynode_t *k = build(b, yaml_document_get_node(b->doc, pr[i].key), depth + 1);
					trk_ynode_t *v;
					const trk_ynode_t *first;

					if (k == NULL)
						break;
					v = build(b, yaml_document_get_node(b->doc, pr[i].value), depth + 1);
					/*
					 * A bad key is reported and its pair left out; the rest of
					 * the map is still built, so every other error shows too.
					 */
					if (k->kind != TRK_Y_SCALAR)
						trk_diag_error(b->diags, b->file, k->line, k->col, "keys must be plain strings");
					else if ((first = find_key(node, k->text)) != NULL)
						trk_diag_error(b->diags, b->file, k->line, k->col,
									   "duplicate key \"%s\" (first at line %d)", k->text, first->line);
					else
					{
						node->pairs[node->n].key = k;
						node->pairs[node->n].value = v;
						node->n++;
						continue;
					}
					trk_ynode_free(k);
					trk_ynode_free(v);
				}
				break;
			}
		default:
			node->kind = TRK_Y_NULL;
	}
	return node;
}

trk_ynode_t *
trk_yaml_parse(const char *file, const char *text, size_t len,
			   const trk_srcmap_t *map, trk_diags_t *diags)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_document_t extra;
	builder_t	b = {.file = file,.map = map,.diags = diags,.doc = &doc};
	trk_ynode_t *root = NULL;
	yaml_node_t *yroot;

	if (!yaml_parser_initialize(&parser))
	{
		trk_diag_error(diags, file, 0, 0, "could not initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
	if (!yaml_parser_load(&parser, &doc))
	{
		int			line,
					col;

		if (parser.error == YAML_READER_ERROR)
		{
			/* the reader (bad UTF-8, control bytes) gives a byte offset only */
			yaml_mark_t m = {0};
			size_t		off = parser.problem_offset;
			size_t		k = off < len ? off : len;

			/* a bad trailing octet: point at the character it belongs to */
			while (k > 0 && ((unsigned char) text[k - 1] & 0xC0) == 0x80)
				k--;
			if (k > 0 && ((unsigned char) text[k - 1] & 0xC0) == 0xC0)
				off = k - 1;
			for (size_t i = 0; i < off && i < len; i++)
			{
				if (text[i] == '\n')
				{
					m.line++;
					m.column = 0;
				}
				else if (((unsigned char) text[i] & 0xC0) != 0x80)
					m.column++;
			}
			position(&b, m, &line, &col);
		}
		else
			position(&b, parser.problem_mark, &line, &col);
		if (parser.context)
			trk_diag_error(diags, file, line, col, "invalid YAML: %s %s",
						   parser.problem ? parser.problem : "syntax error", parser.context);
		else
			trk_diag_error(diags, file, line, col, "invalid YAML: %s",
						   parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		return NULL;
	}

	yroot = yaml_document_get_root_node(&doc);
	if (yroot == NULL)
	{
		root = trk_calloc(1, sizeof(*root));
		root->kind = TRK_Y_NULL;
		root->line = root->col = 1;
	}
	else
	{
		root = build(&b, yroot, 0);
		if (b.failed)
		{
			trk_ynode_free(root);
			root = NULL;
		}
	}

	/* a second document is a mistake, not something to ignore */
	if (root && yroot != NULL)
	{
		if (!yaml_parser_load(&parser, &extra))
		{
			int			line,
						col;

			position(&b, parser.problem_mark, &line, &col);
			trk_diag_error(diags, file, line, col, "invalid YAML: %s",
						   parser.problem ? parser.problem : "syntax error");
			trk_ynode_free(root);
			root = NULL;
		}
		else
		{
			yaml_node_t *r2 = yaml_document_get_root_node(&extra);

			if (r2 != NULL)
			{
				int			line,
							col;

				position(&b, r2->start_mark, &line, &col);
				trk_diag_error(diags, file, line, col, "only one YAML document is allowed per file");
				trk_ynode_free(root);
				root = NULL;
			}
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return root;
}

const trk_ynode_t *
trk_ymap_get(const trk_ynode_t *map, const char *key)
{
	if (map == NULL || map->kind != TRK_Y_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (map->pairs[i].key && strcmp(map->pairs[i].key->text, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

const char *
trk_ykind_name(trk_ykind_t kind)
{
	switch (kind)
	{
		case TRK_Y_NULL:
			return "null";
		case TRK_Y_SCALAR:
			return "a value";
		case TRK_Y_SEQ:
			return "a list";
		case TRK_Y_MAP:
			return "a map";
	}
	return "?";
}

void
trk_ynode_free(trk_ynode_t *node)
{
	if (node == NULL)
		return;
	free(node->text);
	for (size_t i = 0; i < node->n; i++)
	{
		if (node->kind == TRK_Y_SEQ)
			trk_ynode_free(node->items[i]);
		else if (node->kind == TRK_Y_MAP)
		{
			trk_ynode_free(node->pairs[i].key);
			trk_ynode_free(node->pairs[i].value);
		}
	}
	free(node->items);
	free(node->pairs);
	free(node);
}
