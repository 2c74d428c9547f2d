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

    /// A domain validation message in this language (see [`problem`]).
    pub fn problem_of(self, message: &str) -> String {
        problem(self, message)
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

/// Validation messages of the domain (English, as the API returns them) with their Chinese
/// form: `{}` marks a value carried over. Ordered so that longer patterns come first.
const PROBLEMS: &[(&str, &str)] = &[
    ("the months add up to {} but the application is for {}; make them equal", "各月合计{}，但申请数量为{}；两者须相等"),
    ("{}; give a positive quantity in {}", "{}；请填写以{}为单位的正数"),
    ("{}; the contract value is a positive amount with at most 2 decimals", "{}；合同金额须为正数，最多两位小数"),
    ("{}% is above the programme's tolerance of {}%", "{}%超过本项目的溢装容差{}%"),
    ("{} is after the filing date {}", "{}晚于申请日期{}"),
    ("{} is more than the contract's {}", "{}超过合同数量{}"),
    ("`{}` is not a month; write YYYY-MM", "“{}”不是月份；请按YYYY-MM填写"),
    ("{} appears twice", "{}重复出现"),
    ("give 1 to {} months of planned purchases", "请填写1至{}个月的采购计划"),
    ("give evidence for “{}”", "请提供“{}”的证明材料"),
    ("is longer than {} characters", "超过{}个字符"),
    ("is required", "必填"),
    ("the unit is `kg` or `t`", "单位为kg或t"),
    ("a purchase-programme application needs its purchase contract", "采购类排除申请须附采购合同"),
    ("tariff line {} is not in the nomenclature; check the code", "税号{}不在税则中；请检查"),
    ("tariff line {} is not in force at {}", "税号{}在{}未生效"),
    ("{} is not on the programme's list; this programme does not accept unlisted lines", "{}不在本项目清单内；本项目不受理清单外税号"),
    ("{} is not on the programme's list; set add_product_request to ask for it to be added", "{}不在本项目清单内；可申请增列"),
    ("tariff code `{}` is not 8 or 10 digits; write it like 12019010 or 1201.90.10", "税号“{}”不是8位或10位数字；请写作12019010或1201.90.10"),
    ("currency `{}` is not an ISO 4217 code of three capital letters, e.g. USD or CNY", "币种“{}”不是三位大写字母的ISO 4217代码，如USD或CNY"),
    ("`{}` is not a decimal number; write digits with an optional `.` and no thousands separators, e.g. 1234.56", "“{}”不是数字；请只写数字和小数点，不加千位分隔符，如1234.56"),
    ("`{}` has more than {} decimal places", "“{}”的小数位超过{}位"),
    ("`{}` is too large", "“{}”过大"),
    ("`{}` is negative; give a positive amount", "“{}”为负数；请填写正数"),
    ("`{}` is zero; give a positive amount", "“{}”为零；请填写正数"),
    ("`{}` is not a date or time; write YYYY-MM-DD, YYYY-MM-DDTHH:MM (Beijing time) or RFC 3339 with an offset, e.g. 2019-09-01T08:30:00+08:00", "“{}”不是日期或时间；请按YYYY-MM-DD或YYYY-MM-DDTHH:MM（北京时间）填写"),
    ("applications to {} are accepted from {} until {}; not at {}", "{}的受理期为{}至{}；{}不在受理期内"),
    ("intake for line {} is suspended from {} by policy change {}: {}", "税号{}自{}起暂停受理（政策变更{}：{}）"),
    ("at most {} t per application", "每份申请最多{}吨"),
    ("party must be 1 to {} characters", "对象须为1至{}个字符"),
    ("channel must be 1 to {} characters", "方式须为1至{}个字符"),
    ("summary must be 1 to {} characters", "内容摘要须为1至{}个字符"),
    ("channel `{}` is not one of phone, meeting, email, letter, other", "方式“{}”不是电话、会面、电子邮件、信函或其他之一"),
    ("at: {}; write YYYY-MM-DDTHH:MM (Beijing time)", "时间：{}；请按YYYY-MM-DDTHH:MM（北京时间）填写"),
    ("is required: say what changes and why", "必填：说明变更内容及理由"),
    ("{} application(s) are filed under {}; change its rules by a published policy change", "已有{}份申请在{}下提交；请通过发布政策变更调整规则"),
    ("programme {} is at version {}, not {}; reload it and edit again", "排除项目{}已是第{}版而非第{}版；请刷新后重新编辑"),
    ("programme {} was changed meanwhile; reload it and edit again", "排除项目{}已被他人修改；请刷新后重新编辑"),
    ("declaration amended to revision {}", "报关单已修改为第{}版"),
    ("declaration cancelled", "报关单已撤销"),
];

/// Matches `text` against a pattern with `{}` holes; returns what filled each hole.
fn holes<'a>(pattern: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = pattern.split("{}").collect();
    let (first, rest) = parts.split_first()?;
    let mut t = text.strip_prefix(first)?;
    let mut out = Vec::new();
    for (i, lit) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let at = if last {
            if lit.is_empty() {
                t.len()
            } else {
                t.strip_suffix(lit).map(str::len)?
            }
        } else if lit.is_empty() {
            return None;
        } else {
            t.find(lit)?
        };
        out.push(t.get(..at)?);
        t = t.get(at + lit.len()..)?;
    }
    t.is_empty().then_some(out)
}

/// A domain validation message in the page's language. Chinese pages get the catalogue's
/// form of the message with the values kept; a message the catalogue does not know is shown
/// as the domain wrote it (English) rather than not at all.
pub fn problem(lang: Lang, message: &str) -> String {
    if lang == Lang::En {
        return message.to_owned();
    }
    for (en, zh) in PROBLEMS {
        if let Some(values) = holes(en, message) {
            let mut out = String::new();
            let mut values = values.into_iter();
            for (i, part) in zh.split("{}").enumerate() {
                if i > 0 {
                    out.push_str(&problem(lang, values.next().unwrap_or("")));
                }
                out.push_str(part);
            }
            return out;
        }
    }
    message.to_owned()
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
    ("form.new.live", "Each field is checked as you type; nothing is filed until you submit.", "填写时逐项检查；提交前不会正式申请。"),
    ("form.plan.hint", "The months must add up to the quantity applied for.", "各月数量之和须等于申请数量。"),
    ("form.agg.mean", "Mean", "平均分"),
    ("form.agg.range", "range", "区间"),
    ("form.agg.overall", "Weighted score of the experts (share of the top mark)", "专家加权得分（占满分比例）"),
    ("form.agg.disagreement", "The experts disagree; say why the decision follows or departs from them.", "专家意见分歧较大；请说明决定采纳或偏离专家意见的理由。"),
    ("nav.programmes", "Programmes", "排除项目"),
    ("nav.policy", "Policy changes", "政策变更"),
    ("nav.queue", "My queue", "我的评审任务"),
    ("nav.overdue", "Overdue reviews", "逾期评审"),
    ("nav.enterprise", "Enterprise profile", "企业信息"),
    ("prog.title", "Exclusion programmes", "排除项目"),
    ("prog.intro", "Each programme is one exclusion process: its legal basis, eligible lines, window, validity and review policy.", "每个排除项目是一项排除程序：法律依据、适用税号、受理期、有效期和评审规则。"),
    ("prog.new", "Set up a programme", "设立排除项目"),
    ("prog.edit", "Edit programme", "编辑排除项目"),
    ("prog.edit_hint", "A programme can be edited until the first application is filed under it; after that its rules change by a published policy change.", "排除项目在收到第一份申请前可以编辑；此后规则须通过发布政策变更调整。"),
    ("prog.save", "Save the new version", "保存新版本"),
    ("prog.copy", "Set up a new programme starting from this one", "以此项目为模板设立新项目"),
    ("prog.create", "Create the programme", "创建排除项目"),
    ("prog.exists", "A programme with this id already exists; choose another id.", "该编号的排除项目已存在，请换一个编号。"),
    ("prog.id", "Programme", "项目编号"),
    ("prog.id_hint", "Programme id (capital letters, digits and -, e.g. CN-2021-MKT)", "项目编号（大写字母、数字和-，如CN-2021-MKT）"),
    ("prog.name", "Name", "名称"),
    ("prog.name_en", "Name in English", "英文名称"),
    ("prog.name_zh", "Name in Chinese", "中文名称"),
    ("prog.legal_basis", "Legal basis", "法律依据"),
    ("prog.kind", "Kind", "类型"),
    ("prog.kind.product", "Product exclusion (a line for every importer)", "商品排除（对所有进口商适用）"),
    ("prog.kind.purchase", "Purchase exclusion (an approved quantity per applicant)", "市场化采购排除（按申请人核定数量）"),
    ("prog.window", "Application window", "受理期"),
    ("prog.open", "Applications open (YYYY-MM-DD)", "开始受理（YYYY-MM-DD）"),
    ("prog.close", "Applications close (YYYY-MM-DD, empty: open-ended)", "截止受理（YYYY-MM-DD，留空为不设截止）"),
    ("prog.validity_days", "Validity (days from approval)", "有效期（自批准起天数）"),
    ("prog.overfill", "Overfill tolerance (%)", "溢装容差（%）"),
    ("prog.refunds", "Refund of additional duty already paid", "退还已缴加征关税"),
    ("prog.appeal_days", "Appeal period (days)", "复议期限（天）"),
    ("prog.scopes", "Layers it lifts (scope tags)", "可排除的税层（范围标签）"),
    ("prog.scopes_hint", "Scope tags of the layers it lifts, separated by commas (e.g. l301)", "可排除税层的范围标签，以逗号分隔（如l301）"),
    ("prog.unlisted", "Applicants may request lines not on the list", "可申请清单外税号"),
    ("prog.lines", "Eligible tariff lines", "适用税号"),
    ("prog.lines_hint", "One 8- or 10-digit tariff line per line (or separated by commas).", "每行一个8位或10位税号（或以逗号分隔）。"),
    ("prog.review", "Review policy", "评审规则"),
    ("prog.experts", "Experts per application", "每份申请的专家人数"),
    ("prog.review_days", "Days to review", "评审期限（天）"),
    ("prog.criteria", "Review criteria", "评审标准"),
    ("prog.criteria_hint", "One criterion per line: key | weight % | top of scale (2–5) | English name | Chinese name. Weights add up to 100.", "每行一项标准：键 | 权重% | 最高分（2–5）| 英文名称 | 中文名称。权重合计100。"),
    ("prog.criterion", "Criterion", "评审标准"),
    ("prog.weight", "Weight", "权重"),
    ("prog.scale", "Scale", "分值"),
    ("prog.sources", "Sources", "来源"),
    ("prog.sources_hint", "One source (announcement, URL) per line.", "每行一个来源（公告或网址）。"),
    ("prog.notes", "Notes", "备注"),
    ("prog.version", "Version", "版本"),
    ("prog.whole_number", "Write a whole number of days or experts, e.g. 14.", "请填写整数天数或人数，如14。"),
    ("policy.title", "Policy changes", "政策变更"),
    ("policy.intro", "Rule changes are published here, versioned, with their reason and source; every affected holder is notified.", "规则变更在此公布，有版本、理由和来源；受影响的持有人均会收到通知。"),
    ("policy.none", "No policy changes published.", "暂无政策变更。"),
    ("policy.number", "Change", "变更编号"),
    ("policy.effective", "Effective", "生效时间"),
    ("policy.effective_hint", "Effective from (Beijing time, YYYY-MM-DD or YYYY-MM-DDTHH:MM)", "生效时间（北京时间，YYYY-MM-DD或YYYY-MM-DDTHH:MM）"),
    ("policy.action", "What changes", "变更内容"),
    ("policy.suspend", "Suspend intake", "暂停受理"),
    ("policy.redate", "Re-date validity to", "有效期调整至"),
    ("policy.lines", "Lines to suspend (empty: every line of the programme)", "暂停受理的税号（留空：项目全部税号）"),
    ("policy.valid_until", "New end of validity, for re-dating (YYYY-MM-DD)", "新的有效期截止日（调整有效期时填写，YYYY-MM-DD）"),
    ("policy.line", "Only this tariff line (optional)", "仅限此税号（可选）"),
    ("policy.holder", "Only this holder (optional)", "仅限此持有人（可选）"),
    ("policy.reason", "Reason", "理由"),
    ("policy.source", "Source (announcement, optional)", "来源（公告，可选）"),
    ("policy.supersedes", "Revises change (e.g. POL-2025-1, optional)", "修订的变更编号（如POL-2025-1，可选）"),
    ("policy.publish", "Publish a policy change", "发布政策变更"),
    ("policy.affected", "Re-dated", "调整数"),
    ("policy.superseded", "revised by", "已被修订："),
    ("overdue.title", "Overdue reviews", "逾期评审"),
    ("overdue.intro", "Expert reviews past their deadline. Escalating tells each expert and the officers.", "已过期限的专家评审。催办会通知相关专家和工作人员。"),
    ("overdue.none", "No review is overdue.", "没有逾期评审。"),
    ("overdue.days", "Days overdue", "逾期天数"),
    ("overdue.escalated", "Escalated", "已催办"),
    ("overdue.escalate", "Escalate every overdue review", "催办全部逾期评审"),
    ("overdue.escalate_hint", "Reviews already escalated are not escalated again.", "已催办的评审不会重复催办。"),
    ("queue.title", "My review queue", "我的评审任务"),
    ("queue.intro", "The applications assigned to you, the nearest deadline first.", "分配给您的申请，按期限由近及远排列。"),
    ("queue.none", "Nothing is assigned to you.", "暂无分配给您的申请。"),
    ("queue.assigned", "Assigned", "分配日期"),
    ("queue.due", "Due", "截止日期"),
    ("queue.overdue", "overdue", "已逾期"),
    ("queue.status.active", "To score", "待评分"),
    ("queue.status.scored", "Scored", "已评分"),
    ("queue.status.replaced", "Withdrawn (conflict)", "已回避（利益冲突）"),
    ("contact.title", "Contact log", "接触记录"),
    ("contact.intro", "Record every contact about this application with anyone outside the record: who, when, how, and what was said.", "记录与案卷外任何人就本申请的每次接触：对象、时间、方式和内容。"),
    ("contact.none", "No contacts recorded.", "暂无接触记录。"),
    ("contact.at", "When", "时间"),
    ("contact.at_hint", "When (Beijing time, YYYY-MM-DDTHH:MM)", "时间（北京时间，YYYY-MM-DDTHH:MM）"),
    ("contact.party", "Who (person and the party they speak for)", "对象（人员及其代表的一方）"),
    ("contact.with_applicant", "The party is the applicant or speaks for it", "对方为申请人或代表申请人"),
    ("contact.applicant", "applicant", "申请人"),
    ("contact.channel", "How", "方式"),
    ("contact.channel.phone", "Phone", "电话"),
    ("contact.channel.meeting", "Meeting", "会面"),
    ("contact.channel.email", "E-mail", "电子邮件"),
    ("contact.channel.letter", "Letter", "信函"),
    ("contact.channel.other", "Other", "其他"),
    ("contact.summary", "What was said", "内容摘要"),
    ("contact.by", "Recorded by", "记录人"),
    ("contact.record", "Record the contact", "保存接触记录"),
    ("ent.code", "Customs registration code", "海关注册编码"),
    ("ent.name_en", "Name in English", "英文名称"),
    ("ent.name_zh", "Name in Chinese", "中文名称"),
    ("ent.group", "Group", "所属集团"),
    ("ent.association", "Industry association", "行业协会"),
    ("ent.members", "Members", "会员企业"),
    ("ent.no_members", "No members registered.", "暂无登记的会员企业。"),
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
    ("nav.declare", "Declare", "申报"),
    ("allow.lookup", "Look up an allowance by number", "按编号查询排除额度"),
    ("allow.lookup.submit", "Look up", "查询"),
    ("decl.new", "New declaration", "新建报关单"),
    ("decl.csv", "Declarations from a CSV file", "从CSV文件申报"),
    ("decl.csv_hint", "Paste the CSV or choose a CSV file: one row per declaration line; rows with the same number form one declaration. Each declaration is recorded on its own; a bad row is reported with its row and column and nothing of its declaration is recorded. Columns:", "粘贴CSV或选择CSV文件：每行一个商品项；编号相同的行组成一份报关单。每份报关单单独记录；有误的行会注明行号和列名，该报关单不予记录。列："),
    ("decl.csv_label", "CSV (header row first)", "CSV（首行为列名）"),
    ("decl.csv_submit", "Declare every row", "逐行申报"),
    ("decl.csv_results", "What happened to each declaration", "各报关单处理结果"),
    ("decl.csv_rows", "Rows", "行号"),
    ("decl.csv_outcome", "Outcome", "结果"),
    ("decl.csv_recorded", "Recorded", "已记录"),
    ("decl.csv_replayed", "Already recorded (identical)", "已记录过（内容相同）"),
    ("decl.title", "Declaration", "报关单"),
    ("decl.hint", "One declaration with up to three lines; leave a line empty to skip it. Claim an allowance on a line to draw its quantity from it.", "一份报关单最多三行；空行不提交。在某行填写排除额度编号即从该额度中扣减数量。"),
    ("decl.fix", "Correct this field.", "请更正此项。"),
    ("decl.no_lines", "Fill in at least one line (tariff code and quantity).", "请至少填写一行（税则号列和数量）。"),
    ("decl.number", "Declaration number", "报关单号"),
    ("decl.importer", "Importer registration code (10 characters)", "收货人海关编码（10位）"),
    ("decl.declared_at", "Declared at (Beijing time, YYYY-MM-DD or YYYY-MM-DDTHH:MM)", "申报时间（北京时间，YYYY-MM-DD 或 YYYY-MM-DDTHH:MM）"),
    ("decl.line", "Line", "商品项"),
    ("decl.code", "Tariff code", "税则号列"),
    ("decl.origin", "Origin (ISO country code)", "原产国（ISO代码）"),
    ("decl.quantity", "Quantity", "数量"),
    ("decl.unit", "Unit", "单位"),
    ("decl.value", "Customs value (CIF)", "完税价格（CIF）"),
    ("decl.currency", "Currency", "币种"),
    ("decl.allowance", "Allowance claimed", "申请使用的排除额度"),
    ("decl.submit", "Declare", "提交申报"),
    ("decl.covered", "Covered by the allowance", "额度覆盖数量"),
    ("decl.uncovered", "Not covered (full duty)", "未覆盖数量（全额征税）"),
    ("decl.base", "Base duty", "基本关税"),
    ("decl.additional", "Additional duty", "加征关税"),
    ("decl.excluded", "Duty lifted", "排除免征税额"),
    ("decl.vat", "Import VAT", "进口增值税"),
    ("decl.total", "Total", "合计"),
    ("decl.layers", "Every duty layer", "各层税费"),
    ("decl.layer", "Layer", "税层"),
    ("decl.basis", "Legal basis", "法律依据"),
    ("decl.scope", "Scope", "范围"),
    ("decl.status", "Status", "状态"),
    ("decl.charged", "Charged (CNY)", "征收（元）"),
    ("decl.lifted", "Lifted (CNY)", "免征（元）"),
    ("decl.status.charged", "charged", "征收"),
    ("decl.status.lifted", "lifted", "免征"),
    ("decl.status.partly_lifted", "partly lifted", "部分免征"),
    ("decl.status.grace_waived", "waived (grace period)", "宽限期免征"),
    ("decl.notes", "Notes", "说明"),
    ("decl.revision", "Revision", "版本"),
    ("decl.state.accepted", "accepted", "已接受"),
    ("decl.state.cancelled", "cancelled", "已撤销"),
    ("decl.cancelled_note", "This declaration was cancelled; every draw it made was returned to its allowance.", "此报关单已撤销，所扣减的额度已全部退回。"),
    ("decl.cancel", "Cancel this declaration", "撤销此报关单"),
    ("util.title", "Utilisation", "额度使用情况"),
    ("util.none", "No allowances granted yet.", "尚未批准任何排除额度。"),
    ("util.csv", "Download as CSV", "下载CSV"),
    ("util.chart", "Granted, used and unused tonnes per tariff line, and used per month", "各税则号列批准、已用、未用吨数及每月使用量"),
    ("util.legend", "Bars per line: granted (grey), used (blue), unused (green); months show used only. Quantities in tonnes.", "每行柱条：批准（灰）、已用（蓝）、未用（绿）；月份行仅显示已用。数量单位：吨。"),
    ("util.month", "Month", "月份"),
    ("util.all", "whole life", "全部有效期"),
    ("util.granted", "Granted (t)", "批准（吨）"),
    ("util.used", "Used (t)", "已用（吨）"),
    ("util.unused", "Unused (t)", "未用（吨）"),
    ("util.expired", "Expired unused (t)", "过期未用（吨）"),
    ("util.forgone", "Duty forgone (CNY)", "免征税额（元）"),
    ("nav.utilisation", "Utilisation", "使用情况"),
    ("pr.title", "Purchase reports", "采购报告"),
    ("allow.over_time", "Remaining after each draw and reversal", "每次扣减与退回后的剩余数量"),
    ("pr.none", "No purchase reports filed.", "尚未提交采购报告。"),
    ("pr.price", "Average price per unit", "平均单价"),
    ("pr.filed_by", "Filed by", "提交人"),
    ("pr.month", "Month (YYYY-MM)", "月份（YYYY-MM）"),
    ("pr.submit", "File the report", "提交报告"),
    ("chart.desc_table", "The table below gives the same figures.", "下表列出相同的数字。"),
    ("unit.cny", "CNY", "元"),
    ("unit.t", "t", "吨"),
    ("plan.title", "Purchase plan and imports per month", "每月采购计划与实际进口"),
    ("plan.chart", "Planned, imported and reported quantities per month", "每月计划、实际进口和报告采购数量"),
    ("plan.legend", "Bars per month: planned in the application (grey), imported under this allowance (blue), bought according to the holder's purchase report (green).", "每月柱条：申请中的计划（灰）、本额度项下实际进口（蓝）、持有人采购报告所报采购量（绿）。"),
    ("plan.table", "Plan against imports per month", "每月计划与进口对照"),
    ("plan.planned", "Planned", "计划"),
    ("plan.imported", "Imported", "实际进口"),
    ("plan.difference", "Imported − planned", "进口减计划"),
    ("plan.reported", "Reported bought", "报告采购"),
    ("plan.unreadable", "The purchase plan of this allowance's application could not be read; the balance above is unaffected.", "无法读取本额度所属申请的采购计划；上方余额不受影响。"),
    ("plan.none", "No monthly plan, imports or purchase reports yet.", "尚无月度计划、进口或采购报告。"),
    ("util.public", "Figures per programme, tariff line and month, added up over every allowance; no importer and no allowance is named.", "按项目、税则号列和月份汇总全部额度的数字；不列出任何进口商或额度编号。"),
    ("util.table", "Granted, used, unused, expired and duty forgone", "批准、已用、未用、过期及免征税额"),
    ("util.forgone_chart", "Duty forgone per month (CNY)", "每月免征税额（元）"),
    ("util.forgone_legend", "Duty forgone: the duty lifted on the parts of accepted declarations an allowance covered, per month of declaration, added up over the programme's tariff lines, in CNY.", "免征税额：已接受报关单中由额度覆盖部分所免征的税款，按申报月份、汇总本项目各税则号列，单位：元。"),
    ("util.forgone_none", "No duty forgone yet: no accepted declaration has drawn on an allowance.", "尚无免征税额：还没有已接受的报关单扣减额度。"),
    ("sla.ages", "Open applications by age", "在办申请按时长分布"),
    ("sla.ages_legend", "Days since filing of every open application (drafts excluded), in bands.", "各在办申请自提交以来的天数（不含草稿），分段统计。"),
    ("sla.band", "Age since filing", "自提交以来时长"),
    ("sla.days", "days", "天"),
    ("sla.over", "more than {} days", "{}天以上"),
    ("decl.csv_file", "Or choose a CSV file (it is used instead of the box above)", "或选择CSV文件（选择后将代替上面的文本框）"),
    ("decl.csv_file_hint", "UTF-8, at most 1 MB and 2,000 rows, header row first.", "UTF-8编码，不超过1 MB、2000行，首行为列名。"),
    ("nav.quotas", "Country quotas", "国别配额"),
    ("nav.refunds", "Refunds", "退税"),
    ("refund.title", "Refund claims", "退还税款申请"),
    ("refund.intro", "When a product exclusion that refunds is published with a validity starting earlier, the accepted declarations inside that validity paid additional duty that is now excluded. Each such line gets a claim for that additional duty (import VAT is not refunded), due within six months of publication. Cancelling or amending a declaration withdraws its open claims.", "对于可退税的产品排除，若其有效期早于公布日期开始，有效期内已接受的报关单所缴纳的、现已排除的加征关税可申请退还。每个此类商品项生成一项退税申请（进口环节增值税不退），须在公布后六个月内办结。撤销或修改报关单将撤回其未办结的退税申请。"),
    ("refund.none", "No refund claims.", "暂无退税申请。"),
    ("refund.generate", "Generate refund claims", "生成退税申请"),
    ("refund.generated", "{} new refund claim(s) recorded.", "已新增{}项退税申请。"),
    ("refund.settled_flash", "Claim {} marked settled.", "第{}号申请已标记为已退还。"),
    ("refund.err.refund_deadline_passed", "Claim {} can no longer be settled: its deadline has passed.", "第{}号申请已过期限，不能再办结。"),
    ("refund.err.refund_claim_withdrawn", "Claim {} was withdrawn because its declaration changed; generate the claims again.", "第{}号申请因报关单变更已撤回；请重新生成退税申请。"),
    ("refund.open", "Open", "待办"),
    ("refund.settled", "Settled", "已退还"),
    ("refund.withdrawn", "Withdrawn", "已撤回"),
    ("refund.recover", "Settled, declaration since cancelled (to recover)", "已退还但报关单已撤销（待追回）"),
    ("refund.csv", "Download all claims (CSV)", "下载全部申请（CSV）"),
    ("refund.more", "The {} most recent claims are shown; the CSV has them all.", "仅显示最近{}项申请；CSV包含全部。"),
    ("refund.caption", "Refund claims, most recent first", "退税申请（最新在前）"),
    ("refund.id", "Claim", "申请号"),
    ("refund.exclusion", "Exclusion", "排除"),
    ("refund.declaration", "Declaration", "报关单"),
    ("refund.revision", "revision", "版本"),
    ("refund.line", "line", "商品项"),
    ("refund.importer", "Importer", "进口企业"),
    ("refund.code", "Tariff line", "税号"),
    ("refund.declared_at", "Declared", "申报时间"),
    ("refund.paid", "Additional duty paid", "已缴加征关税"),
    ("refund.amount", "Refund", "应退税款"),
    ("refund.deadline", "Deadline", "期限"),
    ("refund.status", "Status", "状态"),
    ("refund.state.open", "open", "待办"),
    ("refund.state.settled", "settled", "已退还"),
    ("refund.state.withdrawn", "withdrawn", "已撤回"),
    ("refund.to_recover", "declaration cancelled: recover the refund", "报关单已撤销：请追回退款"),
    ("refund.late", "deadline passed", "已过期限"),
    ("refund.settle", "Mark settled", "标记为已退还"),
    ("refund.settle_claim", "Mark claim {} settled", "将第{}号申请标记为已退还"),
    ("quota.title", "Country quotas", "国别配额"),
    ("quota.intro", "Every declaration line of the goods and origin a quota counts draws its whole quantity from it. From the third day after a quota is reached, its safeguard duty is added to the applicable rate; notices are given at 50%, 80% and 100%.", "配额所涵盖货物和原产地的每一报关单商品项均按其全部数量计入配额。配额用完后第三日起，在适用税率之上加征保障措施关税；使用达到50%、80%和100%时发布提示。"),
    ("quota.none", "No country quota is set.", "尚未设定国别配额。"),
    ("quota.chart", "Quota and use", "配额与使用量"),
    ("quota.legend", "Bars: the year's quota (grey) and the quantity used so far (blue).", "条形：全年配额（灰色）和目前已使用数量（蓝色）。"),
    ("quota.goods", "Goods (tariff headings)", "货物（税则号列）"),
    ("quota.quota", "Quota", "配额"),
    ("quota.used", "Used", "已使用"),
    ("quota.remaining", "Remaining", "剩余"),
    ("quota.reached", "Reached", "用完日期"),
    ("quota.not_reached", "Not reached", "尚未用完"),
    ("quota.surcharge", "Surcharge applies from", "加征起始日期"),
    ("quota.surcharge_after", "The third day after the quota is reached", "配额用完后第三日"),
    ("quota.notices", "Notices", "提示"),
    ("quota.no_notices", "No notice yet.", "尚无提示。"),
    ("quota.threshold", "Share used", "使用比例"),
    ("quota.at", "Declared", "申报时间"),
    ("quota.ledger", "Ledger", "台账"),
    ("quota.kind", "Entry", "条目"),
    ("quota.quantity", "Quantity", "数量"),
    ("quota.cause", "Cause", "原因"),
    ("decl.csv_from_file", "From the file", "来自文件"),
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
    fn domain_messages_read_in_chinese_with_their_values() {
        let m = "the months add up to 30000 t but the application is for 40000 t; make them equal";
        assert_eq!(Lang::En.problem_of(m), m);
        assert_eq!(
            problem(Lang::Zh, m),
            "各月合计30000 t，但申请数量为40000 t；两者须相等"
        );
        assert_eq!(
            problem(Lang::Zh, "15% is above the programme's tolerance of 10%"),
            "15%超过本项目的溢装容差10%"
        );
        assert_eq!(
            problem(
                Lang::Zh,
                "`x` is not a decimal number; write digits with an optional `.` and no thousands separators, e.g. 1234.56; give a positive quantity in t"
            ),
            "“x”不是数字；请只写数字和小数点，不加千位分隔符，如1234.56；请填写以t为单位的正数"
        );
        assert_eq!(problem(Lang::Zh, "something new"), "something new");
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
