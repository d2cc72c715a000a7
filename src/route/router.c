/* router.c — table → pipelines, a small open-addressing hash table. */
#include "route/router.h"
#include "base/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
hash_name(const char *schema, const char *table)
{
	uint32_t	h = 2166136261u;

	for (const char *p = schema; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *p = table; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	return h;
}

static void
rebuild(trk_router_t *r, size_t nslots)
{
	free(r->slots);
	r->slots = trk_malloc(nslots * sizeof(int));
	r->nslots = nslots;
	for (size_t i = 0; i < nslots; i++)
		r->slots[i] = -1;
	for (size_t i = 0; i < r->nroutes; i++)
	{
		size_t		j = hash_name(r->routes[i].schema, r->routes[i].table) & (nslots - 1);

		while (r->slots[j] >= 0)
			j = (j + 1) & (nslots - 1);
		r->slots[j] = (int) i;
	}
}

const trk_route_t *
trk_router_find(const trk_router_t *r, const char *schema, const char *table)
{
	size_t		j;

	if (r->nslots == 0 || schema == NULL || table == NULL)
		return NULL;
	j = hash_name(schema, table) & (r->nslots - 1);
	while (r->slots[j] >= 0)
	{
		const trk_route_t *rt = &r->routes[r->slots[j]];

		if (strcmp(rt->table, table) == 0 && strcmp(rt->schema, schema) == 0)
			return rt;
		j = (j + 1) & (r->nslots - 1);
	}
	return NULL;
}

void
trk_router_add(trk_router_t *r, const char *schema, const char *table,
			   int pipeline, bool leaf)
{
	trk_route_t *rt = (trk_route_t *) trk_router_find(r, schema, table);

	if (rt == NULL)
	{
		TRK_GROW(r->routes, r->caproutes, r->nroutes + 1);
		rt = &r->routes[r->nroutes++];
		memset(rt, 0, sizeof(*rt));
		rt->schema = trk_strdup(schema);
		rt->table = trk_strdup(table);
		if (r->nroutes * 2 > r->nslots)
			rebuild(r, r->nslots ? r->nslots * 2 : 16);
		else
		{
			size_t		j = hash_name(schema, table) & (r->nslots - 1);

			while (r->slots[j] >= 0)
				j = (j + 1) & (r->nslots - 1);
			r->slots[j] = (int) (r->nroutes - 1);
		}
	}
	if (pipeline < 0)
		return;
	for (size_t i = 0; i < rt->npipelines; i++)
		if (rt->pipelines[i] == pipeline)
			return;
	rt->pipelines = trk_realloc(rt->pipelines, (rt->npipelines + 1) * sizeof(int));
	rt->pipelines[rt->npipelines++] = pipeline;
	rt->leaf |= leaf;
}

void
trk_router_free(trk_router_t *r)
{
	for (size_t i = 0; i < r->nroutes; i++)
	{
		free(r->routes[i].schema);
		free(r->routes[i].table);
		free(r->routes[i].pipelines);
	}
	free(r->routes);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}
