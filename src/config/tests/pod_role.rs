use super::*;

#[test]
fn the_pod_role_label_is_off_by_default() {
    let s = Settings::resolve_with_file(&memory(), &env(), &file("")).unwrap();
    assert_eq!(s.pod_role, None);
}

#[test]
fn on_it_names_this_pod_from_the_downward_api_and_the_kubeconfig() {
    let env = Environment {
        pod_namespace: Some("admiral".into()),
        kubeconfig: Some("/home/me/.kube/config".into()),
        ..env()
    };
    let s = Settings::resolve_with_file(&memory(), &env, &file("drlease:\n  podRoleLabel: yes\n"))
        .unwrap();
    assert_eq!(
        s.pod_role,
        Some(PodRoleSettings {
            pod: "pod-0".into(),
            namespace: Some("admiral".into()),
            kubeconfig: Some("/home/me/.kube/config".into()),
        })
    );
    // The flag beats KUBECONFIG; without POD_NAMESPACE, the client's default namespace.
    let flags = CommandLine {
        pod_role_label: Some("true".into()),
        kubeconfig: Some("/etc/kube/config".into()),
        ..memory()
    };
    let s = Settings::resolve_with_file(&flags, &super::env(), &file("")).unwrap();
    let p = s.pod_role.unwrap();
    assert_eq!(p.kubeconfig, Some("/etc/kube/config".into()));
    assert_eq!(p.namespace, None);
}

#[test]
fn on_without_pod_name_is_refused_saying_where_to_get_it() {
    let env = Environment {
        pod_name: None,
        ..env()
    };
    let flags = CommandLine {
        pod_role_label: Some("true".into()),
        ..memory()
    };
    let e = Settings::resolve_with_file(&flags, &env, &file("")).unwrap_err();
    assert_eq!(e.field, "--pod-role-label");
    assert!(
        e.message.contains("POD_NAME") && e.message.contains("fieldRef"),
        "{e}"
    );
    let e = FileConfig::parse("drlease:\n  podRoleLabel: maybe\n").unwrap_err();
    assert_eq!(e, "drlease.podRoleLabel: 'maybe' is not true or false");
}
