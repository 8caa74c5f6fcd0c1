include_guard()
# Kinds, validation and defaulting (src/model/validate.cmake).
knd_add_unit_test(test_knd_validate
  ${CMAKE_CURRENT_LIST_DIR}/test_knd_validate.c
  ${CMAKE_CURRENT_LIST_DIR}/test_knd_validate_pod.c
  ${CMAKE_CURRENT_LIST_DIR}/test_knd_validate_ann.c
  LIBS knd_model)
knd_add_unit_test(test_knd_defaults ${CMAKE_CURRENT_LIST_DIR}/test_knd_defaults.c LIBS knd_model)
