include_guard()
knd_add_unit_test(test_knd_naming ${CMAKE_CURRENT_LIST_DIR}/test_knd_naming.c LIBS knd_model)
