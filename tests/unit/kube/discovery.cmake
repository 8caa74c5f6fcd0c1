include_guard()
knd_add_unit_test(test_knd_kube_discovery ${CMAKE_CURRENT_LIST_DIR}/test_knd_kube_discovery.c LIBS knd_kube)
