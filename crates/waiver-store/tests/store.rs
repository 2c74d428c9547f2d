//! The storage test suite, run against SQLite and PostgreSQL alike.

mod common;

use waiver_domain::accounts::{Role, Username};
use waiver_domain::RegistrationCode;
use waiver_store::{Actor, NewEnterprise, NewUser, Store, StoreError};

fn code(c: &str) -> RegistrationCode {
    RegistrationCode::parse(c).unwrap()
}

async fn crusher(store: &Store, c: &str) {
    let e = NewEnterprise {
        registration_code: code(c),
        name_en: "Shandong Example Crushing Co.".into(),
        name_zh: "山东示例压榨有限公司".into(),
        parent_group: None,
        is_association: false,
    };
    store.create_enterprise(&Actor::system(), &e).await.unwrap();
}

fn applicant(name: &str, enterprise: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        display_name: "Li Wei".into(),
        role: Role::Applicant,
        enterprise: Some(code(enterprise)),
        affiliation: None,
    }
}

both!(
    enterprises_and_users_round_trip,
    |store: Store| async move {
        crusher(&store, "3700ABC001").await;
        let dup = NewEnterprise {
            registration_code: code("3700abc001"),
            name_en: "Again".into(),
            name_zh: String::new(),
            parent_group: None,
            is_association: false,
        };
        let err = store
            .create_enterprise(&Actor::system(), &dup)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref m) if m.contains("3700ABC001")),
            "{err}"
        );

        let u = store
            .create_user(
                &Actor::user("admin"),
                &applicant("li.wei", "3700ABC001"),
                "correct horse battery",
            )
            .await
            .unwrap();
        assert_eq!(u.enterprise.as_deref(), Some("3700ABC001"));
        assert_eq!(
            store
                .authenticate("li.wei", "correct horse battery")
                .await
                .unwrap(),
            Some(u.clone())
        );
        assert_eq!(
            store
                .authenticate("li.wei", "wrong password!")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .authenticate("nobody", "correct horse battery")
                .await
                .unwrap(),
            None
        );

        // An applicant without an enterprise, or a weak password, is refused and nothing is written.
        let mut orphan = applicant("orphan", "3700ABC001");
        orphan.enterprise = None;
        assert!(store
            .create_user(&Actor::system(), &orphan, "correct horse battery")
            .await
            .is_err());
        assert!(store
            .create_user(&Actor::system(), &applicant("weak", "3700ABC001"), "short")
            .await
            .is_err());
        assert_eq!(store.user("weak").await.unwrap(), None);
        let taken = store
            .create_user(
                &Actor::system(),
                &applicant("li.wei", "3700ABC001"),
                "correct horse battery",
            )
            .await
            .unwrap_err();
        assert!(matches!(taken, StoreError::Conflict(_)));
    }
);

both!(
    tokens_are_stored_hashed_and_resolve_to_their_user,
    |store: Store| async move {
        let customs = NewUser {
            username: Username::parse("customs.qingdao").unwrap(),
            display_name: "Qingdao Customs clearance system".into(),
            role: Role::Customs,
            enterprise: None,
            affiliation: None,
        };
        store
            .create_user(&Actor::system(), &customs, "correct horse battery")
            .await
            .unwrap();
        let token = store
            .create_token(&Actor::user("admin"), "customs.qingdao", "clearance system")
            .await
            .unwrap();
        assert!(token.starts_with("wvr_") && token.len() == 68);
        let u = store.user_by_token(&token).await.unwrap().unwrap();
        assert_eq!(
            (u.username.as_str(), u.role),
            ("customs.qingdao", Role::Customs)
        );
        assert_eq!(store.user_by_token("wvr_0000").await.unwrap(), None);
        // The plaintext token is nowhere in the database.
        assert_eq!(
            store
                .count_raw(&format!(
                    "SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = '{token}'"
                ))
                .await
                .unwrap(),
            0
        );
    }
);

both!(
    a_revoked_token_and_a_disabled_user_stop_working_at_once,
    |store: Store| async move {
        let customs = NewUser {
            username: Username::parse("customs.qingdao").unwrap(),
            display_name: "Qingdao Customs clearance system".into(),
            role: Role::Customs,
            enterprise: None,
            affiliation: None,
        };
        store
            .create_user(&Actor::system(), &customs, "correct horse battery")
            .await
            .unwrap();
        let admin = Actor::user("admin");
        let first = store
            .create_token(&admin, "customs.qingdao", "clearance system")
            .await
            .unwrap();
        let second = store
            .create_token(&admin, "customs.qingdao", "backup")
            .await
            .unwrap();
        // Both resolve, so both are now remembered by the token cache.
        assert!(store.user_by_token(&first).await.unwrap().is_some());
        assert!(store.user_by_token(&second).await.unwrap().is_some());

        let listed = store.tokens(Some("customs.qingdao")).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|t| (t.label.as_str(), t.revoked_at_ms))
                .collect::<Vec<_>>(),
            [("clearance system", None), ("backup", None)]
        );
        assert_eq!(store.tokens(None).await.unwrap(), listed);
        match store.tokens(Some("nobdy")).await {
            Err(StoreError::NotFound(m)) => assert!(m.contains("\"nobdy\""), "{m}"),
            other => panic!("a misspelt user is not an empty list: {other:?}"),
        }

        // Revoking the first: it stops at once (not after the cache's time), the second works.
        let revoked = store.revoke_token(&admin, listed[0].id).await.unwrap();
        assert!(revoked.revoked_at_ms.is_some());
        assert_eq!(store.user_by_token(&first).await.unwrap(), None);
        assert!(store.user_by_token(&second).await.unwrap().is_some());
        assert_eq!(store.tokens(None).await.unwrap()[0], revoked);
        // Twice is refused with a stable code; an unknown id says how to find the ids.
        match store.revoke_token(&admin, listed[0].id).await {
            Err(StoreError::Rejected { code, .. }) => assert_eq!(code, "token_revoked"),
            other => panic!("expected token_revoked, got {other:?}"),
        }
        match store.revoke_token(&admin, 999_999).await {
            Err(StoreError::NotFound(m)) => assert!(m.contains("waiver token list"), "{m}"),
            other => panic!("expected not found, got {other:?}"),
        }

        // Disabling the user: no sign-in, no session, no token; enabling restores the token
        // (the session was ended).
        let user = store.user("customs.qingdao").await.unwrap().unwrap();
        let session = store.create_session(&user, 3_600_000).await.unwrap();
        assert!(store.user_by_session(&session).await.unwrap().is_some());
        assert!(store
            .set_user_disabled(&admin, "customs.qingdao", true)
            .await
            .unwrap());
        assert_eq!(store.user_by_token(&second).await.unwrap(), None);
        assert_eq!(store.user_by_session(&session).await.unwrap(), None);
        assert_eq!(
            store
                .authenticate("customs.qingdao", "correct horse battery")
                .await
                .unwrap(),
            None
        );
        // No new token or session for a disabled user, and the refusal says why.
        for refused in [
            store
                .create_token(&admin, "customs.qingdao", "third")
                .await
                .map(|_| ()),
            store.create_session(&user, 3_600_000).await.map(|_| ()),
        ] {
            match refused {
                Err(StoreError::Rejected { code, message }) => {
                    assert_eq!(code, "user_disabled");
                    assert!(
                        message.contains("waiver user enable customs.qingdao"),
                        "{message}"
                    );
                }
                other => panic!("expected user_disabled, got {other:?}"),
            }
        }
        // Setting the state it already has changes nothing and is not an error.
        assert!(!store
            .set_user_disabled(&admin, "customs.qingdao", true)
            .await
            .unwrap());
        assert!(store
            .set_user_disabled(&admin, "customs.qingdao", false)
            .await
            .unwrap());
        assert!(store.user_by_token(&second).await.unwrap().is_some());
        assert_eq!(store.user_by_token(&first).await.unwrap(), None);
        assert_eq!(store.user_by_session(&session).await.unwrap(), None);
        assert!(matches!(
            store.set_user_disabled(&admin, "nobody", true).await,
            Err(StoreError::NotFound(_))
        ));

        // The last enabled administrator cannot be disabled (nobody could administer).
        for name in ["admin.wu", "admin.ma"] {
            let admin_user = NewUser {
                username: Username::parse(name).unwrap(),
                display_name: name.into(),
                role: Role::Admin,
                enterprise: None,
                affiliation: None,
            };
            store
                .create_user(&Actor::system(), &admin_user, "correct horse battery")
                .await
                .unwrap();
        }
        assert!(store
            .set_user_disabled(&admin, "admin.wu", true)
            .await
            .unwrap());
        match store.set_user_disabled(&admin, "admin.ma", true).await {
            Err(StoreError::Rejected { code, .. }) => assert_eq!(code, "last_admin"),
            other => panic!("expected last_admin, got {other:?}"),
        }
        assert!(
            store.user("admin.ma").await.unwrap().is_some(),
            "still enabled"
        );

        // Each change is in the user's audit trail, by whom it was made.
        let trail = store.audit_trail("user", "customs.qingdao").await.unwrap();
        let actions: Vec<_> = trail
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("create", "system"),
                ("create_token", "admin"),
                ("create_token", "admin"),
                ("revoke_token", "admin"),
                ("disable", "admin"),
                ("enable", "admin"),
            ]
        );
        assert!(store.verify_audit().await.unwrap().first_bad.is_none());
    }
);

both!(associations_have_members, |store: Store| async move {
    crusher(&store, "3700ABC001").await;
    crusher(&store, "3700ABC002").await;
    let assoc = NewEnterprise {
        registration_code: code("1100ASC001"),
        name_en: "China Soybean Industry Association (fictional)".into(),
        name_zh: "中国大豆产业协会（虚构）".into(),
        parent_group: None,
        is_association: true,
    };
    store
        .create_enterprise(&Actor::system(), &assoc)
        .await
        .unwrap();
    store
        .add_member(&Actor::system(), &code("1100ASC001"), &code("3700ABC002"))
        .await
        .unwrap();
    store
        .add_member(&Actor::system(), &code("1100ASC001"), &code("3700ABC001"))
        .await
        .unwrap();
    assert_eq!(
        store.members(&code("1100ASC001")).await.unwrap(),
        ["3700ABC001", "3700ABC002"]
    );
    assert!(store
        .add_member(&Actor::system(), &code("3700ABC001"), &code("3700ABC002"))
        .await
        .is_err());
});

both!(
    every_change_is_audited_and_the_chain_verifies,
    |store: Store| async move {
        crusher(&store, "3700ABC001").await;
        store
            .create_user(
                &Actor::user("admin"),
                &applicant("li.wei", "3700ABC001"),
                "correct horse battery",
            )
            .await
            .unwrap();
        let trail = store.audit_trail("enterprise", "3700ABC001").await.unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(
            (trail[0].actor.as_str(), trail[0].action.as_str()),
            ("system", "create")
        );
        assert!(trail[0].diff.contains("\"before\":null"));
        let report = store.verify_audit().await.unwrap();
        assert_eq!((report.entries, report.first_bad.clone()), (2, None));
    }
);

both!(
    tampering_with_the_audit_log_is_detected,
    |store: Store| async move {
        for i in 1..=4 {
            crusher(&store, &format!("3700ABC00{i}")).await;
        }
        assert_eq!(store.verify_audit().await.unwrap().first_bad, None);

        // Edit an entry's content.
        store
            .execute_raw("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .await
            .unwrap();
        let r = store.verify_audit().await.unwrap();
        let (seq, why) = r.first_bad.unwrap();
        assert_eq!(seq, 2);
        assert!(why.contains("edited"), "{why}");
        store
            .execute_raw("UPDATE audit_log SET actor = 'system' WHERE seq = 2")
            .await
            .unwrap();
        assert_eq!(store.verify_audit().await.unwrap().first_bad, None);

        // Remove one from the middle.
        store
            .execute_raw("DELETE FROM audit_log WHERE seq = 3")
            .await
            .unwrap();
        assert_eq!(store.verify_audit().await.unwrap().first_bad.unwrap().0, 3);
    }
);

both!(
    removing_the_last_audit_entries_is_detected,
    |store: Store| async move {
        crusher(&store, "3700ABC001").await;
        crusher(&store, "3700ABC002").await;
        store
            .execute_raw("DELETE FROM audit_log WHERE seq = 2")
            .await
            .unwrap();
        let (seq, why) = store.verify_audit().await.unwrap().first_bad.unwrap();
        assert_eq!(seq, 2);
        assert!(why.contains("removed"), "{why}");
    }
);

both!(
    concurrent_writers_never_fork_the_audit_chain,
    |store: Store| async move {
        let mut tasks = Vec::new();
        for i in 0..16 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                crusher(&s, &format!("3700CON{i:03}")).await
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let r = store.verify_audit().await.unwrap();
        assert_eq!((r.entries, r.first_bad), (16, None));
    }
);

both!(
    the_real_programmes_are_seeded_once_and_audited,
    |store: Store| async move {
        assert_eq!(store.seed_programmes(&Actor::system()).await.unwrap(), 3);
        assert_eq!(store.seed_programmes(&Actor::system()).await.unwrap(), 0);
        let all = store.programmes().await.unwrap();
        let ids: Vec<&str> = all.iter().map(|(p, _)| p.spec.id.as_str()).collect();
        assert_eq!(ids, ["CN-2019-R1", "CN-2019-R2", "CN-2020-MKT"]);
        let (mkt, version) = store.programme("CN-2020-MKT").await.unwrap().unwrap();
        assert_eq!(version, 1);
        assert_eq!(mkt.spec.overfill_tolerance_pct, "10");
        assert!(store.programme("CN-1999-X").await.unwrap().is_none());
        let err = store
            .create_programme(&Actor::system(), &mkt)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        let trail = store.audit_trail("programme", "CN-2020-MKT").await.unwrap();
        assert_eq!(trail.len(), 1);
        assert!(trail[0].diff.contains("Market-based purchase exclusion"));
    }
);

both!(
    a_programme_is_edited_by_version_until_something_is_filed,
    |store: Store| async move {
        store.seed_programmes(&Actor::system()).await.unwrap();
        let (mut r2, v) = store.programme("CN-2019-R2").await.unwrap().unwrap();
        assert_eq!(v, 1);
        r2.spec.notes = "edited".into();
        let officer = Actor::user("officer.zhang");
        assert_eq!(store.update_programme(&officer, &r2, 1).await.unwrap(), 2);
        // A second edit from the same old version is refused, not lost.
        r2.spec.notes = "lost?".into();
        let err = store.update_programme(&officer, &r2, 1).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let (now, v) = store.programme("CN-2019-R2").await.unwrap().unwrap();
        assert_eq!((now.spec.notes.as_str(), v), ("edited", 2));
        let trail = store.audit_trail("programme", "CN-2019-R2").await.unwrap();
        assert_eq!(trail.len(), 2);
        assert!(trail[1].diff.contains("edited"), "{}", trail[1].diff);
        assert!(store.verify_audit().await.unwrap().first_bad.is_none());
        let mut missing = now.clone();
        missing.spec.id = "CN-1999-X".into();
        assert!(matches!(
            store.update_programme(&officer, &missing, 1).await,
            Err(StoreError::NotFound(_))
        ));
    }
);

fn application_spec(enterprise: &str) -> waiver_domain::application::ApplicationSpec {
    use waiver_domain::application::{ApplicationSpec, Contract, PlanMonth};
    ApplicationSpec {
        programme: "CN-2020-MKT".into(),
        enterprise: enterprise.into(),
        line: "12019010".into(),
        add_product_request: false,
        quantity: "60000".into(),
        unit: "t".into(),
        value: "24000000".into(),
        currency: "USD".into(),
        contract: Some(Contract {
            number: "C-1".into(),
            supplier: "Gulf Grain (fictional)".into(),
            signed_on: "2020-03-05".into(),
            quantity: "60000".into(),
            overfill_pct: "10".into(),
        }),
        monthly_plan: vec![PlanMonth {
            month: "2020-04".into(),
            quantity: "60000".into(),
        }],
        evidence: [
            ("commercial_need", "a"),
            ("contract_credibility", "b"),
            ("plan_feasibility", "c"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        confidential: vec![],
        public_summary: String::new(),
    }
}

async fn file(
    store: &Store,
    enterprise: &str,
    submit: bool,
) -> Result<waiver_store::Application, StoreError> {
    let programmes = waiver_domain::programme::seed_programmes().unwrap();
    let schedule = waiver_domain::schedule_csv::demo_schedule().unwrap();
    let at = waiver_domain::BjTime::parse_instant("2020-03-10").unwrap();
    let spec = application_spec(enterprise);
    let v = spec.validate(&programmes[2], &schedule, at).unwrap();
    store
        .create_application(&Actor::user("li.wei"), &spec, &v, submit, 2020)
        .await
}

both!(
    applications_are_numbered_deduplicated_and_moved_through_their_states,
    |store: Store| async move {
        use waiver_domain::application::{Event, State};
        store.seed_programmes(&Actor::system()).await.unwrap();
        for c in ["3700ABC001", "3700ABC002"] {
            crusher(&store, c).await;
        }
        let assoc = NewEnterprise {
            registration_code: code("1100ASC001"),
            name_en: "Association (fictional)".into(),
            name_zh: String::new(),
            parent_group: None,
            is_association: true,
        };
        store
            .create_enterprise(&Actor::system(), &assoc)
            .await
            .unwrap();
        store
            .add_member(&Actor::system(), &code("1100ASC001"), &code("3700ABC001"))
            .await
            .unwrap();

        let a = file(&store, "3700ABC001", true).await.unwrap();
        assert_eq!(
            (a.number.as_str(), a.state),
            ("APP-2020-000001", State::Submitted)
        );
        // The same enterprise, or its association, may not file again for the same line while it is open.
        for who in ["3700ABC001", "1100ASC001"] {
            let err = file(&store, who, false).await.unwrap_err();
            assert!(
                matches!(&err, StoreError::Conflict(m) if m.contains("APP-2020-000001")),
                "{err}"
            );
        }
        // Another enterprise may.
        let b = file(&store, "3700ABC002", false).await.unwrap();
        assert_eq!(
            (b.number.as_str(), b.state),
            ("APP-2020-000002", State::Draft)
        );

        let officer = Actor::user("officer.zhang");
        let notes =
            serde_json::json!({ "contract.supplier": "give the supplier's full legal name" });
        let r = store
            .transition(
                &officer,
                &a.number,
                &[Event::StartScreening, Event::Return],
                Some(1),
                None,
                Some(notes),
            )
            .await
            .unwrap();
        assert_eq!((r.state, r.version), (State::Returned, 2));
        assert_eq!(
            r.screening_notes.unwrap()["contract.supplier"],
            "give the supplier's full legal name"
        );
        // A stale version is refused; an impossible event is refused; nothing changes.
        assert!(matches!(
            store
                .transition(&officer, &a.number, &[Event::Resubmit], Some(1), None, None)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .transition(&officer, &a.number, &[Event::Accept], None, None, None)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.application(&a.number).await.unwrap().unwrap().version,
            2
        );

        let r = store
            .transition(
                &Actor::user("li.wei"),
                &a.number,
                &[Event::Resubmit],
                Some(2),
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.state, State::Resubmitted);
        let r = store
            .transition(
                &officer,
                &a.number,
                &[Event::StartScreening, Event::Accept],
                None,
                None,
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.state, State::UnderReview);

        let mine = store
            .applications(
                &waiver_store::Scope::Enterprises(vec!["3700ABC002".into()]),
                None,
                50,
                0,
            )
            .await
            .unwrap();
        assert_eq!(
            mine.iter().map(|a| a.number.as_str()).collect::<Vec<_>>(),
            ["APP-2020-000002"]
        );
        let all = store
            .applications(&waiver_store::Scope::All, Some(State::UnderReview), 50, 0)
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        let trail = store.audit_trail("application", &a.number).await.unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "submit",
                "start_screening+return",
                "resubmit",
                "start_screening+accept"
            ]
        );
        assert_eq!(store.verify_audit().await.unwrap().first_bad, None);
    }
);

both!(sessions_and_attachments, |store: Store| async move {
    store.seed_programmes(&Actor::system()).await.unwrap();
    crusher(&store, "3700ABC001").await;
    let u = store
        .create_user(
            &Actor::system(),
            &applicant("li.wei", "3700ABC001"),
            "correct horse battery",
        )
        .await
        .unwrap();
    let live = store.create_session(&u, 60_000).await.unwrap();
    let expired = store.create_session(&u, -1).await.unwrap();
    assert_eq!(
        store
            .user_by_session(&live)
            .await
            .unwrap()
            .map(|u| u.username),
        Some("li.wei".into())
    );
    assert_eq!(store.user_by_session(&expired).await.unwrap(), None);
    store.delete_session(&live).await.unwrap();
    assert_eq!(store.user_by_session(&live).await.unwrap(), None);

    let a = file(&store, "3700ABC001", true).await.unwrap();
    let content = b"%PDF-1.4 purchase contract".to_vec();
    let att = store
        .add_attachment(
            &Actor::user("li.wei"),
            &a.number,
            "contract.pdf",
            "application/pdf",
            &content,
        )
        .await
        .unwrap();
    use sha2::Digest;
    assert_eq!(att.sha256, hex::encode(sha2::Sha256::digest(&content)));
    assert_eq!(att.size_bytes, content.len() as i64);
    let (meta, bytes) = store.attachment(&a.number, att.id).await.unwrap().unwrap();
    assert_eq!((meta, bytes), (att.clone(), content));
    assert!(store
        .add_attachment(
            &Actor::user("li.wei"),
            &a.number,
            "../etc",
            "text/plain",
            b"x"
        )
        .await
        .is_err());
    assert!(store
        .add_attachment(
            &Actor::user("li.wei"),
            &a.number,
            "big.bin",
            "application/octet-stream",
            &vec![0u8; (10 << 20) + 1]
        )
        .await
        .is_err());
    assert_eq!(store.attachments(&a.number).await.unwrap().len(), 1);
});

both!(
    scenarios_are_versioned_and_audited,
    |store: Store| async move {
        use waiver_domain::scenario::ScenarioSpec;
        let spec = |name: &str| -> ScenarioSpec {
            serde_json::from_str(&format!(
                r#"{{"name":"{name}","changes":[{{"op":"remove","measure":"L301-1-soy"}}]}}"#
            ))
            .unwrap()
        };
        let ana = Actor::user("ana");
        let a = store
            .create_scenario(&ana, &spec("No 2018 layer"))
            .await
            .unwrap();
        let b = store.create_scenario(&ana, &spec("Second")).await.unwrap();
        assert_eq!((a.id, a.version), (1, 1));
        assert_eq!(b.id, 2);
        let a2 = store
            .update_scenario(&Actor::user("olga"), a.id, Some(1), &spec("Renamed"))
            .await
            .unwrap();
        assert_eq!(a2.version, 2);
        // A stale version is a conflict and changes nothing.
        assert!(matches!(
            store
                .update_scenario(&ana, a.id, Some(1), &spec("Stale"))
                .await,
            Err(StoreError::Conflict(_))
        ));
        let old = store.scenario(a.id, Some(1)).await.unwrap().unwrap();
        assert_eq!(old.spec.name, "No 2018 layer");
        assert_eq!(old.current_version, 2);
        let cur = store.scenario(a.id, None).await.unwrap().unwrap();
        assert_eq!(
            (cur.version, cur.spec.name.as_str(), cur.created_by.as_str()),
            (2, "Renamed", "olga")
        );
        assert!(store.scenario(99, None).await.unwrap().is_none());
        assert_eq!(store.scenario_versions(a.id).await.unwrap().len(), 2);
        let names: Vec<String> = store
            .scenarios()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names.len(), 2);
        store.archive_scenario(&ana, b.id).await.unwrap();
        assert_eq!(store.scenarios().await.unwrap().len(), 1);
        assert!(store
            .update_scenario(&ana, b.id, None, &spec("x"))
            .await
            .is_err());
        assert!(store.scenario(b.id, None).await.unwrap().unwrap().archived);
        let trail = store
            .audit_trail("scenario", &a.id.to_string())
            .await
            .unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["create", "edit"]);
        assert!(store.verify_audit().await.unwrap().first_bad.is_none());
    }
);
