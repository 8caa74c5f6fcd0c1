# The API's credentials: CA, server certificate, token and kubeconfig in a temporary state dir,
# checked with OpenSSL's own verifier.
knd_add_unit_test(test_knd_kube_pki test_knd_kube_pki.c LIBS knd_kube)
