/*
 * knd_validate_volume.c - pod volumes and container volumeMounts as Knative's webhook checks them
 * (k8s_validation.go validateVolume / validateVolumeMounts): which volume sources are allowed
 * (secret, configMap, projected always; emptyDir, PVC, hostPath, CSI, ephemeral, image behind
 * config-features flags), exactly one source, key-to-path items, reserved and unique mount
 * paths, readOnly rules. Messages and paths are Knative's, quirks included.
 */
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_naming.h"
#include "knd_validate_int.h"

#define KND_FV(x) "kubernetes.podspec-volumes-" x

static const knd_vfield_t knd_vvol_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"secret", KND_VT_OBJ, NULL},
    {"configMap", KND_VT_OBJ, NULL},
    {"projected", KND_VT_OBJ, NULL},
    {"emptyDir", KND_VT_OBJ, KND_FV("emptydir")},
    {"persistentVolumeClaim", KND_VT_OBJ, "kubernetes.podspec-persistent-volume-claim"},
    {"hostPath", KND_VT_OBJ, KND_FV("hostpath")},
    {"csi", KND_VT_OBJ, KND_FV("csi")},
    {"ephemeral", KND_VT_OBJ, KND_FV("ephemeral")},
    {"image", KND_VT_OBJ, KND_FV("image")},
    {"gcePersistentDisk", KND_VT_OBJ, KND_VF_MASKED},
    {"awsElasticBlockStore", KND_VT_OBJ, KND_VF_MASKED},
    {"gitRepo", KND_VT_OBJ, KND_VF_MASKED},
    {"nfs", KND_VT_OBJ, KND_VF_MASKED},
    {"iscsi", KND_VT_OBJ, KND_VF_MASKED},
    {"glusterfs", KND_VT_OBJ, KND_VF_MASKED},
    {"rbd", KND_VT_OBJ, KND_VF_MASKED},
    {"flexVolume", KND_VT_OBJ, KND_VF_MASKED},
    {"cinder", KND_VT_OBJ, KND_VF_MASKED},
    {"cephfs", KND_VT_OBJ, KND_VF_MASKED},
    {"flocker", KND_VT_OBJ, KND_VF_MASKED},
    {"downwardAPI", KND_VT_OBJ, KND_VF_MASKED},
    {"fc", KND_VT_OBJ, KND_VF_MASKED},
    {"azureFile", KND_VT_OBJ, KND_VF_MASKED},
    {"vsphereVolume", KND_VT_OBJ, KND_VF_MASKED},
    {"quobyte", KND_VT_OBJ, KND_VF_MASKED},
    {"azureDisk", KND_VT_OBJ, KND_VF_MASKED},
    {"photonPersistentDisk", KND_VT_OBJ, KND_VF_MASKED},
    {"portworxVolume", KND_VT_OBJ, KND_VF_MASKED},
    {"scaleIO", KND_VT_OBJ, KND_VF_MASKED},
    {"storageos", KND_VT_OBJ, KND_VF_MASKED},
};

static const knd_vfield_t knd_vvol_secret_fields[] = {
    {"secretName", KND_VT_STR, NULL},
    {"items", KND_VT_ARR, NULL},
    {"defaultMode", KND_VT_INT, NULL},
    {"optional", KND_VT_BOOL, NULL},
};

static const knd_vfield_t knd_vvol_configmap_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"items", KND_VT_ARR, NULL},
    {"defaultMode", KND_VT_INT, NULL},
    {"optional", KND_VT_BOOL, NULL},
};

static const knd_vfield_t knd_vvol_projected_fields[] = {
    {"sources", KND_VT_ARR, NULL},
    {"defaultMode", KND_VT_INT, NULL},
};

static const knd_vfield_t knd_vvol_projection_fields[] = {
    {"secret", KND_VT_OBJ, NULL},
    {"configMap", KND_VT_OBJ, NULL},
    {"serviceAccountToken", KND_VT_OBJ, NULL},
    {"downwardAPI", KND_VT_OBJ, NULL},
    {"clusterTrustBundle", KND_VT_OBJ, KND_VF_MASKED},
    {"podCertificate", KND_VT_OBJ, KND_VF_MASKED},
};

static const knd_vfield_t knd_vvol_proj_ref_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"items", KND_VT_ARR, NULL},
    {"optional", KND_VT_BOOL, NULL},
};

static const knd_vfield_t knd_vvol_sat_fields[] = {
    {"audience", KND_VT_STR, NULL},
    {"expirationSeconds", KND_VT_INT, NULL},
    {"path", KND_VT_STR, NULL},
};

static const knd_vfield_t knd_vvol_dapi_fields[] = {
    {"items", KND_VT_ARR, NULL},
};

static const knd_vfield_t knd_vvol_dapi_file_fields[] = {
    {"path", KND_VT_STR, NULL},
    {"fieldRef", KND_VT_OBJ, NULL},
    {"resourceFieldRef", KND_VT_OBJ, NULL},
    {"mode", KND_VT_INT, NULL},
};

static const knd_vfield_t knd_vvol_key_to_path_fields[] = {
    {"key", KND_VT_STR, NULL},
    {"path", KND_VT_STR, NULL},
    {"mode", KND_VT_INT, NULL},
};

static const knd_vfield_t knd_vvol_emptydir_fields[] = {
    {"medium", KND_VT_STR, NULL},
    {"sizeLimit", KND_VT_INTSTR, NULL},
};

static void knd_vvol_items(knd_vctx_t *c, const json_t *src, const char *path)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(src, "items"), i, it) {
        char p[KND_VPATH_MAX];
        knd__vpathf(p, path, "items[%zu]", i);
        if (!KND_VFIELDS(c, it, p, knd_vvol_key_to_path_fields))
            continue;
        if (*knd_json_str(it, "key", "") == '\0')
            knd__verr(c, p, "key", "missing field(s)");
        if (*knd_json_str(it, "path", "") == '\0')
            knd__verr(c, p, "path", "missing field(s)");
    }
}

static void knd_vvol_projection(knd_vctx_t *c, const json_t *proj, const char *path)
{
    static const char *const kinds[] = {"secret", "configMap", "serviceAccountToken",
                                        "downwardAPI"};
    const char *specified[4];
    size_t n = 0;
    char p[KND_VPATH_MAX];
    if (!KND_VFIELDS(c, proj, path, knd_vvol_projection_fields))
        return;
    for (size_t k = 0; k < KND_ARRAY_SIZE(kinds); k++) {
        json_t *src = json_object_get(proj, kinds[k]);
        if (src == NULL)
            continue;
        specified[n++] = kinds[k];
        knd__vpath(p, path, kinds[k]);
        if (k < 2) {
            if (!KND_VFIELDS(c, src, p, knd_vvol_proj_ref_fields))
                continue;
            if (*knd_json_str(src, "name", "") == '\0')
                knd__verr(c, p, "name", "missing field(s)");
            knd_vvol_items(c, src, p);
        } else if (k == 2) {
            if (KND_VFIELDS(c, src, p, knd_vvol_sat_fields) &&
                *knd_json_str(src, "path", "") == '\0')
                knd__verr(c, p, "path", "missing field(s)");
        } else if (KND_VFIELDS(c, src, p, knd_vvol_dapi_fields)) {
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(src, "items"), i, f) {
                char fp[KND_VPATH_MAX];
                knd__vpathf(fp, p, "items[%zu]", i);
                if (!KND_VFIELDS(c, f, fp, knd_vvol_dapi_file_fields))
                    continue;
                bool fr = json_object_get(f, "fieldRef") != NULL;
                bool rfr = json_object_get(f, "resourceFieldRef") != NULL;
                if (!fr && !rfr) {
                    const char *fs[] = {"fieldRef", "resourceFieldRef"};
                    knd__verr_multi(c, fp, fs, 2, "expected exactly one, got neither");
                } else if (fr && rfr) {
                    const char *fs[] = {"resourceFieldRef", "fieldRef"};
                    knd__verr_multi(c, fp, fs, 2, "Within a single item, cannot set both");
                }
                if (*knd_json_str(f, "path", "") == '\0')
                    knd__verr(c, fp, "path", "missing field(s)");
            }
        }
    }
    if (n == 0)
        knd__verr_multi(c, path, kinds, KND_ARRAY_SIZE(kinds), "expected exactly one, got neither");
    else if (n > 1)
        knd__verr_multi(c, path, specified, n, "expected exactly one, got both");
}

/* The "feature is off" errors Knative raises besides the field mask. */
static void knd_vvol_features(knd_vctx_t *c, const json_t *vol, const char *name)
{
    static const struct {
        const char *field, *feature, *label;
    } gated[] = {
        {"image", KND_FV("image"), "Image"},
        {"emptyDir", KND_FV("emptydir"), "EmptyDir"},
        {"hostPath", KND_FV("hostpath"), "HostPath"},
        {"csi", KND_FV("csi"), "CSI"},
        {"ephemeral", KND_FV("ephemeral"), "Ephemeral"},
    };
    json_t *pvc = json_object_get(vol, "persistentVolumeClaim");
    if (pvc != NULL) {
        const char *claim = knd_json_str(pvc, "claimName", "");
        if (knd__vfeature(c, "kubernetes.podspec-persistent-volume-claim") != KND_FEATURE_ENABLED)
            knd_errlist_add(c->errs, "", "Persistent volume claim support is disabled, but found "
                            "persistent volume claim %s", claim);
        if (!json_is_true(json_object_get(pvc, "readOnly")) &&
            knd__vfeature(c, "kubernetes.podspec-persistent-volume-write") != KND_FEATURE_ENABLED)
            knd_errlist_add(c->errs, "", "Persistent volume write support is disabled, but found "
                            "persistent volume claim %s that is not read-only", claim);
    }
    for (size_t i = 0; i < KND_ARRAY_SIZE(gated); i++) {
        if (json_object_get(vol, gated[i].field) != NULL &&
            knd__vfeature(c, gated[i].feature) != KND_FEATURE_ENABLED)
            knd_errlist_add(c->errs, "", "%s volume support is disabled, but found %s volume %s",
                            gated[i].label, gated[i].label, name);
    }
}

static void knd_vvol_sources(knd_vctx_t *c, const json_t *vol, const char *path)
{
    static const char *const srcs[] = {"secret",   "configMap", "projected", "emptyDir",
                                       "persistentVolumeClaim", "hostPath", "csi",
                                       "ephemeral", "image"};
    static const char *const gates[] = {NULL,
                                        NULL,
                                        NULL,
                                        KND_FV("emptydir"),
                                        "kubernetes.podspec-persistent-volume-claim",
                                        KND_FV("hostpath"),
                                        KND_FV("csi"),
                                        KND_FV("ephemeral"),
                                        KND_FV("image")};
    const char *specified[KND_ARRAY_SIZE(srcs)];
    const char *expected[KND_ARRAY_SIZE(srcs)];
    size_t n = 0, ne = 0;
    char p[KND_VPATH_MAX];
    for (size_t i = 0; i < KND_ARRAY_SIZE(srcs); i++) {
        if (gates[i] == NULL || knd__vfeature(c, gates[i]) == KND_FEATURE_ENABLED)
            expected[ne++] = srcs[i];
        json_t *src = json_object_get(vol, srcs[i]);
        if (src == NULL)
            continue;
        specified[n++] = srcs[i];
        knd__vpath(p, path, srcs[i]);
        if (!json_is_object(src))
            continue;
        if (i == 0 && KND_VFIELDS(c, src, p, knd_vvol_secret_fields)) {
            knd_vvol_items(c, src, p);
        } else if (i == 1 && KND_VFIELDS(c, src, p, knd_vvol_configmap_fields)) {
            knd_vvol_items(c, src, p);
        } else if (i == 2 && KND_VFIELDS(c, src, p, knd_vvol_projected_fields)) {
            size_t j;
            json_t *proj;
            json_array_foreach(json_object_get(src, "sources"), j, proj) {
                /* Knative reports these at "projected[j]", without ".sources". */
                char pp[KND_VPATH_MAX];
                knd__vpathf(pp, path, "projected[%zu]", j);
                knd_vvol_projection(c, proj, pp);
            }
        } else if (i == 3 && KND_VFIELDS(c, src, p, knd_vvol_emptydir_fields)) {
            const char *medium = knd_json_str(src, "medium", "");
            json_t *sl = json_object_get(src, "sizeLimit");
            double q = 0;
            if (*medium != '\0' && strcmp(medium, "Memory") != 0)
                knd__verr(c, p, "medium", "invalid value: %s", medium);
            if (json_is_string(sl) && (!knd__vparse_quantity(json_string_value(sl), &q) || q < 0))
                knd__verr(c, p, "sizeLimit", "invalid value: %s", json_string_value(sl));
            else if (json_is_integer(sl) && json_integer_value(sl) < 0)
                knd__verr(c, p, "sizeLimit", "invalid value: %lld",
                          (long long)json_integer_value(sl));
        }
    }
    if (n == 0)
        knd__verr_multi(c, path, expected, ne, "expected exactly one, got neither");
    else if (n > 1)
        knd__verr_multi(c, path, specified, n, "expected exactly one, got both");
}

void knd__validate_volume(knd_vctx_t *c, const json_t *vol, const char *path)
{
    if (!json_is_object(vol)) {
        KND_VFIELDS(c, vol, path, knd_vvol_fields);
        return;
    }
    const char *name = knd_json_str(vol, "name", "");
    knd_vvol_features(c, vol, name);
    KND_VFIELDS(c, vol, path, knd_vvol_fields);
    if (*name == '\0')
        knd__verr(c, path, "name", "missing field(s)");
    else if (!knd_is_dns1123_label(name))
        knd__verr(c, path, "name", "invalid value: %s", name);
    knd_vvol_sources(c, vol, path);
}

/* ------------------------------------------------------------------------------------------ */
/* volume mounts                                                                               */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_vvol_mount_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"readOnly", KND_VT_BOOL, NULL},
    {"mountPath", KND_VT_STR, NULL},
    {"subPath", KND_VT_STR, NULL},
    {"mountPropagation", KND_VT_STR, KND_FV("mount-propagation")},
    {"recursiveReadOnly", KND_VT_STR, KND_VF_MASKED},
    {"subPathExpr", KND_VT_STR, KND_VF_MASKED},
};

/* Go's path.Clean, enough for mount paths. */
static void knd_vvol_clean(const char *in, char out[KND_VPATH_MAX])
{
    char tmp[KND_VPATH_MAX];
    char *parts[128];
    size_t n = 0;
    bool abs = in[0] == '/';
    snprintf(tmp, sizeof(tmp), "%s", in);
    for (char *save = NULL, *t = strtok_r(tmp, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0)
            continue;
        if (strcmp(t, "..") == 0) {
            if (n > 0 && strcmp(parts[n - 1], "..") != 0)
                n--;
            else if (!abs)
                parts[n++] = t;
            continue;
        }
        if (n < KND_ARRAY_SIZE(parts))
            parts[n++] = t;
    }
    size_t len = 0;
    out[0] = '\0';
    if (abs)
        len = (size_t)snprintf(out, KND_VPATH_MAX, "/");
    for (size_t i = 0; i < n && len < KND_VPATH_MAX; i++)
        len += (size_t)snprintf(out + len, KND_VPATH_MAX - len, "%s%s", i ? "/" : "", parts[i]);
    if (out[0] == '\0')
        snprintf(out, KND_VPATH_MAX, ".");
}

static const json_t *knd_vvol_find(const json_t *volumes, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(volumes, i, v) {
        if (strcmp(knd_json_str(v, "name", ""), name) == 0)
            return v;
    }
    return NULL;
}

void knd__validate_volume_mounts(knd_vctx_t *c, const json_t *mounts, const char *path,
                                 const json_t *volumes)
{
    size_t i;
    json_t *vm;
    json_array_foreach(mounts, i, vm) {
        char p[KND_VPATH_MAX], clean[KND_VPATH_MAX];
        knd__vpathf(p, path, "[%zu]", i);
        if (!KND_VFIELDS(c, vm, p, knd_vvol_mount_fields))
            continue;
        const char *name = knd_json_str(vm, "name", "");
        const char *mp = knd_json_str(vm, "mountPath", "");
        const json_t *vol = knd_vvol_find(volumes, name);
        bool ro = json_is_true(json_object_get(vm, "readOnly"));
        if (vol == NULL)
            knd__verr(c, p, "name", "volumeMount has no matching volume");
        knd_vvol_clean(mp, clean);
        if (*mp == '\0') {
            knd__verr(c, p, "mountPath", "missing field(s)");
        } else if (strcmp(clean, "/") == 0 || strcmp(clean, "/dev") == 0 ||
                   strcmp(clean, "/dev/log") == 0) {
            knd__verr(c, p, "mountPath", "mountPath \"%s\" is a reserved path", clean);
        } else if (mp[0] != '/') {
            knd__verr(c, p, "mountPath", "invalid value: %s", mp);
        } else {
            for (size_t j = 0; j < i; j++) {
                char other[KND_VPATH_MAX];
                knd_vvol_clean(knd_json_str(json_array_get(mounts, j), "mountPath", ""), other);
                if (strcmp(other, clean) == 0) {
                    knd__verr(c, p, "mountPath", "invalid value: \"%s\" must be unique", mp);
                    break;
                }
            }
        }
        bool writable = vol != NULL && (json_object_get(vol, "emptyDir") != NULL ||
                                        json_object_get(vol, "persistentVolumeClaim") != NULL ||
                                        json_object_get(vol, "ephemeral") != NULL);
        if (!writable && !ro)
            knd__verr(c, p, "readOnly", "volume mount should be readOnly for this type of volume");
        const char *prop = knd_json_str(vm, "mountPropagation", NULL);
        if (prop != NULL && knd__vfeature(c, KND_FV("mount-propagation")) != KND_FEATURE_DISABLED) {
            if (knd__vfeature(c, KND_FV("mount-propagation")) != KND_FEATURE_ENABLED)
                knd_errlist_add(c->errs, "", "Volume Mount Propagation support is disabled, but "
                                "found volume mount %s with mount propagation", name);
            if (strcmp(prop, "None") != 0 && strcmp(prop, "HostToContainer") != 0)
                knd__verr(c, p, "mountPropagation",
                          "mount propagation should be set to None or HostToContainer");
        }
        json_t *pvc = vol ? json_object_get(vol, "persistentVolumeClaim") : NULL;
        if (pvc != NULL && json_is_true(json_object_get(pvc, "readOnly")) && !ro)
            knd__verr(c, p, "readOnly", "volume is readOnly but volume mount is not");
    }
}
