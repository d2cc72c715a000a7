/* test_router.c — table → pipelines, leaves and ignored tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "route/router.h"

static void
test_routes(void **state)
{
	trk_router_t r = {0};
	const trk_route_t *rt;

	(void) state;
	trk_router_add(&r, "public", "orders", 0, false);
	trk_router_add(&r, "public", "orders", 2, false);
	trk_router_add(&r, "public", "orders", 2, false);	/* no duplicates */
	trk_router_add(&r, "sales", "orders_2026", 1, true);
	trk_router_add(&r, "sales", "other", -1, false);

	rt = trk_router_find(&r, "public", "orders");
	assert_non_null(rt);
	assert_int_equal(rt->npipelines, 2);
	assert_int_equal(rt->pipelines[0], 0);
	assert_int_equal(rt->pipelines[1], 2);
	assert_false(rt->leaf);

	rt = trk_router_find(&r, "sales", "orders_2026");
	assert_non_null(rt);
	assert_true(rt->leaf);

	rt = trk_router_find(&r, "sales", "other");	/* known, ignored */
	assert_non_null(rt);
	assert_int_equal(rt->npipelines, 0);

	assert_null(trk_router_find(&r, "public", "Orders"));	/* exact names */
	assert_null(trk_router_find(&r, "publicorders", ""));
	assert_null(trk_router_find(&r, NULL, "orders"));
	trk_router_free(&r);
}

static void
test_many(void **state)
{
	trk_router_t r = {0};
	char		name[32];

	(void) state;
	for (int i = 0; i < 5000; i++)
	{
		snprintf(name, sizeof(name), "t%d", i);
		trk_router_add(&r, "s", name, i % 7, false);
	}
	for (int i = 0; i < 5000; i++)
	{
		const trk_route_t *rt;

		snprintf(name, sizeof(name), "t%d", i);
		rt = trk_router_find(&r, "s", name);
		assert_non_null(rt);
		assert_int_equal(rt->pipelines[0], i % 7);
	}
	assert_null(trk_router_find(&r, "s", "t5000"));
	trk_router_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
