# knd top's pure parts: rates, histogram quantiles, the cold-start window, stats parsing,
# the per-revision state between polls and the rendered view.
knd_add_unit_test(test_knd_top_math test_knd_top_math.c LIBS knd_cli knd_core m)
