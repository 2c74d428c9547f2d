//! English and Simplified Chinese: the language of a request (`?lang=`, then the `waiver_lang`
//! cookie, then `Accept-Language`), the message catalogue, and locale-aware formatting.

use axum::http::HeaderMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

pub const LANG_COOKIE: &str = "waiver_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }
    pub fn param(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
    fn parse(raw: &str) -> Option<Lang> {
        let r = raw.trim().to_ascii_lowercase();
        if r.starts_with("zh") {
            Some(Lang::Zh)
        } else if r.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The query parameter wins, then the cookie, then the first language in
    /// `Accept-Language` that Waiver speaks; English otherwise.
    pub fn of(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query.and_then(Lang::parse) {
            return l;
        }
        let cookie = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == LANG_COOKIE)
            .and_then(|(_, v)| Lang::parse(v));
        if let Some(l) = cookie {
            return l;
        }
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .find_map(|part| Lang::parse(part.split(';').next().unwrap_or("")))
            })
            .unwrap_or(Lang::En)
    }

    /// The label for `key`; a missing key shows as `⟦key⟧` (the page tests look for it).
    pub fn t(self, key: &str) -> String {
        match CATALOGUE.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, zh)) => match self {
                Lang::En => (*en).to_owned(),
                Lang::Zh => (*zh).to_owned(),
            },
            None => format!("⟦{key}⟧"),
        }
    }

    /// A Beijing date, `28 Nov 2026` or `2026年11月28日`.
    pub fn date(self, t: waiver_domain::BjTime) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let (y, m, d, h, mi, _) = t.civil();
        let time = if (h, mi) == (0, 0) {
            String::new()
        } else {
            format!(" {h:02}:{mi:02}")
        };
        match self {
            Lang::En => format!(
                "{d} {} {y}{time}",
                MONTHS.get((m - 1) as usize).copied().unwrap_or("?")
            ),
            Lang::Zh => format!("{y}年{m}月{d}日{time}"),
        }
    }

    /// A decimal string with thousands separators (both locales group by three here).
    pub fn number(self, decimal: &str) -> String {
        let (neg, rest) = decimal
            .strip_prefix('-')
            .map_or((false, decimal), |r| (true, r));
        let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if neg {
            format!("-{out}")
        } else {
            out
        }
    }
}

/// (key, English, Simplified Chinese).
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    ("app.name", "Waiver", "关税排除"),
    ("app.tagline", "Tariff exclusions: apply, review, decide, draw down at the border.", "关税排除：申请、评审、决定、通关核减。"),
    ("nav.home", "Home", "首页"),
    ("nav.tariff", "Tariff look-up", "税率查询"),
    ("nav.register", "Public register", "公开名录"),
    ("nav.applications", "Applications", "申请"),
    ("nav.allowances", "Allowances", "排除额度"),
    ("nav.notifications", "Notifications", "通知"),
    ("nav.sign_in", "Sign in", "登录"),
    ("nav.sign_out", "Sign out", "退出"),
    ("nav.language", "中文", "English"),
    ("nav.skip", "Skip to content", "跳到正文"),
    ("home.anonymous", "Sign in to apply for an exclusion, review, decide, or check an allowance. The tariff look-up and the public register are open to everyone.", "登录后可申请排除、评审、决定或查询额度。税率查询和公开名录对所有人开放。"),
    ("home.signed_in_as", "Signed in as", "当前用户"),
    ("role.applicant", "Applicant", "申请人"),
    ("role.expert", "Expert", "评审专家"),
    ("role.officer", "Commission officer", "税委会工作人员"),
    ("role.customs", "Customs", "海关"),
    ("role.analyst", "Analyst", "分析员"),
    ("role.admin", "Administrator", "管理员"),
    ("signin.title", "Sign in", "登录"),
    ("signin.username", "Username", "用户名"),
    ("signin.password", "Password", "密码"),
    ("signin.submit", "Sign in", "登录"),
    ("signin.wrong", "Wrong username or password. Check both and try again.", "用户名或密码错误，请检查后重试。"),
    ("signin.locked", "Too many wrong passwords for this username. Wait 15 minutes and try again.", "该用户名密码错误次数过多，请15分钟后再试。"),
    ("csrf.bad", "This form has expired. Reload the page and send it again.", "表单已过期，请刷新页面后重新提交。"),
    ("tariff.title", "Tariff look-up", "税率查询"),
    ("tariff.intro", "Every duty layer in force for a tariff line, origin and date, and what an exclusion would lift.", "某税号、原产地和日期适用的全部税层，以及排除可免除的部分。"),
    ("tariff.code", "Tariff line (8 or 10 digits)", "税号（8位或10位）"),
    ("tariff.origin", "Origin (ISO country code)", "原产地（ISO国家代码）"),
    ("tariff.at", "Date (Beijing time)", "日期（北京时间）"),
    ("tariff.show", "Show layers", "查询税层"),
    ("tariff.layer", "Layer", "税层"),
    ("tariff.kind", "Kind", "类别"),
    ("tariff.rate", "Rate", "税率"),
    ("tariff.scope", "Scope", "范围"),
    ("tariff.excludable", "Excludable", "可排除"),
    ("tariff.legal_basis", "Legal basis", "法律依据"),
    ("tariff.from", "In force from", "生效日期"),
    ("tariff.total", "Customs duty", "关税合计"),
    ("tariff.with_exclusion", "with an exclusion", "排除后"),
    ("tariff.vat", "Import VAT", "进口增值税"),
    ("yes", "yes", "是"),
    ("no", "no", "否"),
    ("register.title", "Public register", "公开名录"),
    ("register.exclusions", "Excluded products (product programmes)", "排除商品清单（商品排除）"),
    ("register.decisions", "Decisions on purchase applications, in aggregate", "按市场化采购排除申请的决定（汇总）"),
    ("register.none", "Nothing published yet.", "暂无公布内容。"),
    ("register.programme", "Programme", "排除项目"),
    ("register.line", "Tariff line", "税号"),
    ("register.valid", "Valid", "有效期"),
    ("register.decided", "Decided", "已决定"),
    ("register.approved", "Approved", "批准"),
    ("register.partial", "Partly approved", "部分批准"),
    ("register.rejected", "Rejected", "驳回"),
    ("register.amended", "Amended on appeal", "复议变更"),
    ("register.granted", "Granted (t)", "批准数量（吨）"),
    ("register.csv", "Download as CSV", "下载CSV"),
    ("apps.title", "Applications", "申请"),
    ("apps.none", "No applications to show.", "暂无申请。"),
    ("apps.number", "Number", "编号"),
    ("apps.enterprise", "Enterprise", "企业"),
    ("apps.line", "Tariff line", "税号"),
    ("apps.quantity", "Quantity", "数量"),
    ("apps.state", "State", "状态"),
    ("apps.updated", "Updated", "更新"),
    ("apps.history", "History", "历史"),
    ("apps.decision", "Decision", "决定"),
    ("apps.summary", "Public summary", "公开摘要"),
    ("apps.programme", "Programme", "排除项目"),
    ("apps.value", "Value", "货值"),
    ("state.draft", "Draft", "草稿"),
    ("state.submitted", "Submitted", "已提交"),
    ("state.screening", "Screening", "形式审查中"),
    ("state.returned", "Returned for amendment", "退回补正"),
    ("state.resubmitted", "Resubmitted", "已重新提交"),
    ("state.under_review", "Under expert review", "专家评审中"),
    ("state.reviewed", "Reviewed, awaiting decision", "评审完成，待决定"),
    ("state.approved", "Approved", "已批准"),
    ("state.partially_approved", "Partly approved", "部分批准"),
    ("state.rejected", "Rejected", "已驳回"),
    ("state.appealed", "Appealed", "已申请复议"),
    ("state.reconsidered", "Reconsidered", "已复议"),
    ("state.withdrawn", "Withdrawn", "已撤回"),
    ("allow.title", "Allowances", "排除额度"),
    ("allow.none", "No allowances to show.", "暂无排除额度。"),
    ("allow.number", "Allowance", "额度编号"),
    ("allow.holder", "Holder", "持有人"),
    ("allow.granted", "Granted", "批准数量"),
    ("allow.ceiling", "With tolerance", "含溢装"),
    ("allow.used", "Used", "已使用"),
    ("allow.remaining", "Remaining", "剩余"),
    ("allow.valid", "Valid", "有效期"),
    ("allow.entries", "Ledger", "台账"),
    ("allow.entry.kind", "Entry", "类型"),
    ("allow.entry.quantity", "Quantity (t)", "数量（吨）"),
    ("allow.entry.cause", "Cause", "原因"),
    ("allow.entry.at", "When", "时间"),
    ("allow.chart", "Used and remaining of the allowance", "额度已用与剩余"),
    ("entry.grant", "Granted", "批准"),
    ("entry.amend", "Amended on appeal", "复议变更"),
    ("entry.draw", "Drawn by a declaration", "报关核减"),
    ("entry.reversal", "Reversed (declaration cancelled)", "冲回（报关单撤销）"),
    ("entry.policy_adjustment", "Policy change", "政策调整"),
    ("notes.title", "Notifications", "通知"),
    ("notes.none", "No notifications.", "暂无通知。"),
    ("error.not_found", "Not found, or not yours to see.", "未找到，或您无权查看。"),
    ("error.sign_in", "Sign in to see this page.", "请登录后查看此页面。"),
    ("error.forbidden", "Your role cannot open this page.", "您的角色无权打开此页面。"),
    ("error.input", "Check the highlighted field.", "请检查标出的字段。"),
    ("until", "until", "至"),
    ("sla.title", "Service levels", "办理时效"),
    ("sla.states", "Applications per state", "各状态申请数"),
    ("sla.count", "Applications", "申请数"),
    ("sla.open", "Open applications", "在办申请"),
    ("sla.age_median", "Median age of open applications (days)", "在办申请时长中位数（天）"),
    ("sla.age_max", "Oldest open application (days)", "最长在办时长（天）"),
    ("sla.overdue", "Overdue reviews", "逾期评审"),
    ("sla.decision_median", "Median days from filing to decision", "从提交到决定的天数中位数"),
    ("sla.per_week", "Decisions per week", "每周决定数"),
    ("nav.sla", "Service levels", "办理时效"),
    ("form.new.title", "Apply for an exclusion", "申请排除"),
    ("form.errors", "There is a problem", "请更正以下问题"),
    ("form.unit", "Unit (t or kg)", "单位（t或kg）"),
    ("form.currency", "Currency", "币种"),
    ("form.contract", "Purchase contract", "采购合同"),
    ("form.contract.number", "Contract number", "合同编号"),
    ("form.contract.supplier", "Supplier", "供货商"),
    ("form.contract.signed_on", "Signed on (YYYY-MM-DD)", "签订日期（YYYY-MM-DD）"),
    ("form.contract.quantity", "Contract quantity", "合同数量"),
    ("form.contract.overfill", "Overfill clause (%)", "溢装条款（%）"),
    ("form.plan", "Monthly purchase plan", "月度采购计划"),
    ("form.plan.month", "Month (YYYY-MM)", "月份（YYYY-MM）"),
    ("form.evidence", "Evidence for each criterion", "各评审标准的证明材料"),
    ("form.submit_application", "Submit the application", "提交申请"),
    ("form.enterprise_not_yours", "You may file only for your own enterprise or, as an association, for a member.", "只能为本企业或（行业协会）为会员企业申请。"),
    ("form.screen", "Screening", "形式审查"),
    ("form.return_reason", "Reason for returning (what to fix)", "退回理由（需补正的内容）"),
    ("form.accept", "Accept for review", "受理并送评审"),
    ("form.return", "Return for amendment", "退回补正"),
    ("form.assign", "Assign experts", "指派专家"),
    ("form.experts", "Experts", "评审专家"),
    ("form.score", "Your scores", "您的评分"),
    ("form.score.mark", "Score", "分数"),
    ("form.score.rationale", "Rationale", "理由"),
    ("form.score.submit", "Submit scores", "提交评分"),
    ("form.recommendation", "Recommendation", "建议"),
    ("form.recommend.approve", "Approve", "批准"),
    ("form.recommend.reject", "Reject", "驳回"),
    ("form.recommended_quantity", "Recommended quantity (empty: as requested)", "建议数量（留空：按申请数量）"),
    ("form.conflict", "Declare a conflict of interest", "申报利益冲突"),
    ("form.conflict.reason", "Who you are connected with, and how", "与谁存在关联及关联方式"),
    ("form.conflict.submit", "Declare the conflict and withdraw", "申报冲突并回避"),
    ("form.scores", "Experts' scores", "专家评分"),
    ("form.expert", "Expert", "专家"),
    ("form.decide", "Decide", "作出决定"),
    ("form.outcome", "Outcome", "决定结果"),
    ("form.granted_quantity", "Quantity granted (empty: as requested)", "批准数量（留空：按申请数量）"),
    ("form.reason", "Reason", "理由"),
    ("form.departure_reason", "Why the decision departs from the experts (if it does)", "决定与专家意见不一致的理由（如有）"),
    ("form.appeal", "Appeal the decision", "申请复议"),
    ("form.appeal.grounds", "Grounds of the appeal", "复议理由"),
    ("form.appeal.submit", "File the appeal", "提交复议申请"),
    ("form.back", "Back to the application", "返回申请"),
    ("nav.scenarios", "Scenarios", "情景分析"),
    ("nav.landed", "Landed cost", "到岸成本"),
    ("scen.title", "What-if scenarios", "假设情景"),
    ("scen.intro", "Named overlays of measure changes on the tariff schedule: add a layer, remove one, change a rate or dates. Each edit is kept as a version.", "在关税表上叠加的措施变更：增加、取消某一层关税，或修改税率、日期。每次修改都保留为一个版本。"),
    ("scen.none", "No scenarios yet. Analysts create them with the API or `waiver scenario create`.", "暂无情景。分析人员可通过API或 `waiver scenario create` 创建。"),
    ("scen.name", "Name", "名称"),
    ("scen.version", "Version", "版本"),
    ("scen.author", "Written by", "编写人"),
    ("scen.changes", "Changes to the schedule", "对关税表的变更"),
    ("scen.chart", "Landed cost per tonne by origin: actual and under the scenario", "各来源地每吨到岸成本：实际与情景"),
    ("scen.versions", "Versions", "版本记录"),
    ("scen.scenario", "scenario", "情景"),
    ("landed.title", "Landed cost by origin", "各来源地到岸成本"),
    ("landed.intro", "Soybeans (12019010): duty-paid landed cost per tonne in CNY from the month's quotes, without and with an exclusion, and under a scenario.", "大豆（12019010）：按当月报价计算的每吨完税到岸成本（人民币），含有无排除及情景下的结果。"),
    ("landed.month", "Month (YYYY-MM)", "月份（YYYY-MM）"),
    ("landed.origin", "Origin", "来源地"),
    ("landed.actual", "Landed CNY/t", "到岸成本（元/吨）"),
    ("landed.excluded", "With exclusion CNY/t", "排除后（元/吨）"),
    ("landed.source", "Figures", "数据性质"),
    ("landed.note", "Illustrative:", "示意说明："),
    ("landed.show", "Show", "显示"),
    ("landed.no_quotes", "No quotes for this month.", "该月无报价。"),
    ("aid.title", "What the exclusion would save", "排除可节省的税款"),
    ("aid.fill", "Give the tariff line, quantity and unit, then choose “Check the saving”.", "请填写税号、数量和单位，然后点击“计算节省”。"),
    ("aid.check", "Check the saving", "计算节省"),
    ("aid.saving_t", "Duty and VAT saved per tonne", "每吨节省的关税和增值税"),
    ("aid.saving", "Saved on the requested quantity", "申请数量可节省"),
    ("aid.cheapest", "U.S. origin cheapest with the exclusion, at current quotes", "按当前报价，排除后美国货源是否最便宜"),
    ("aid.gap", "difference to the cheapest other origin per tonne", "与其他最便宜来源地的每吨差价"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_once() {
        let mut keys: Vec<&str> = CATALOGUE.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
        for (k, en, zh) in CATALOGUE {
            assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "{k}");
        }
    }

    #[test]
    fn the_language_comes_from_query_then_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::of(None, &h), Lang::En);
        h.insert(
            "accept-language",
            "zh-CN,zh;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::of(None, &h), Lang::Zh);
        h.insert("cookie", "waiver_lang=en".parse().unwrap());
        assert_eq!(Lang::of(None, &h), Lang::En);
        assert_eq!(Lang::of(Some("zh"), &h), Lang::Zh);
    }

    #[test]
    fn numbers_and_dates_follow_the_locale() {
        assert_eq!(Lang::En.number("1234567.5"), "1,234,567.5");
        assert_eq!(Lang::Zh.number("-950"), "-950");
        let t = waiver_domain::BjTime::parse_instant("2026-11-28").unwrap();
        assert_eq!(Lang::En.date(t), "28 Nov 2026");
        assert_eq!(Lang::Zh.date(t), "2026年11月28日");
    }
}
