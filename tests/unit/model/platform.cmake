include_guard()
# Platform configuration and route reconciliation helpers (src/model/platform.cmake).
knd_add_unit_test(test_knd_platform ${CMAKE_CURRENT_LIST_DIR}/test_knd_platform.c LIBS knd_model)
knd_add_unit_test(test_knd_routing ${CMAKE_CURRENT_LIST_DIR}/test_knd_routing.c LIBS knd_model)
