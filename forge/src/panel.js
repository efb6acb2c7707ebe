// The issue panel and glance: what the connector says about this issue's linked Intercom conversations.
// Every call goes through Forge Remote (invokeRemote), which adds the Forge Invocation Token the service checks;
// the service decides what this viewer may see and do, the UI only shows it.

const GLANCE = "intercom-conversations-glance";

export async function start(bridge, root) {
  const context = await bridge.view.getContext();
  const issue = context && context.extension && context.extension.issue;
  if (!issue || !issue.id) {
    show(root, el("p", { class: "error" }, "This app shows linked conversations on Jira issues only."));
    return;
  }
  const api = (path, method = "GET", body) =>
    call(bridge, `/forge/issues/${encodeURIComponent(issue.id)}${path}`, method, body);
  if (context.moduleKey === GLANCE) {
    await glance(root, api);
  } else {
    await panel(root, api, bridge, "");
  }
}

// invokeRemote resolves with what the remote answered; an answer the remote refused comes back as an error
// (or, depending on the bridge version, as {status, body}): both end up as an Error with the service's words.
async function call(bridge, path, method, body) {
  let answer;
  try {
    answer = await bridge.invokeRemote(body === undefined ? { path, method } : { path, method, body });
  } catch (error) {
    throw new Error(detailOf(error && error.message) || "The connector could not be reached. Try again later.");
  }
  if (answer && typeof answer.status === "number" && "body" in answer) {
    const data = typeof answer.body === "string" && answer.body ? parse(answer.body) : answer.body;
    if (answer.status >= 400) throw new Error(detailOf(data) || `The connector answered ${answer.status}.`);
    return data;
  }
  return answer;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function detailOf(value) {
  if (!value) return "";
  if (typeof value === "string") {
    const parsed = parse(value);
    return typeof parsed === "string" ? parsed : detailOf(parsed);
  }
  if (value.detail) return String(value.detail);
  const first = Object.entries(value)[0];
  return first ? `${first[0]}: ${[].concat(first[1]).join(" ")}` : "";
}

async function glance(root, api) {
  try {
    const { count } = await api("/count");
    show(
      root,
      el("p", {}, el("span", { class: "count", "data-testid": "count" }, String(count)), " linked ",
         count === 1 ? "conversation" : "conversations"),
      el("p", { class: "muted" }, "Open the Intercom conversations panel to read them."),
    );
  } catch (error) {
    show(root, el("p", { class: "error", role: "alert" }, error.message));
  }
}

async function panel(root, api, bridge, notice, view = { q: "", page: 1 }) {
  let data;
  try {
    data = await api(`/panel?${new URLSearchParams({ q: view.q, page: String(view.page) })}`);
  } catch (error) {
    show(root, el("p", { class: "error", role: "alert", "data-testid": "refusal" }, error.message));
    return;
  }
  const reload = (message) => panel(root, api, bridge, message, view);
  const go = (next) => panel(root, api, bridge, "", next);
  const failed = (error) => status.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
  const status = el("div", { "data-testid": "status" }, notice ? el("p", { class: "notice" }, notice) : "");
  const total = data.total;
  let summary = `${total} ${total === 1 ? "conversation" : "conversations"} linked in ${data.workspace}`;
  if (data.query) summary += `; ${data.matching} matching “${data.query}”`;
  const parts = [el("p", { class: "muted", "data-testid": "summary" }, summary), status];
  if (total > data.links.length || data.query) parts.push(searchForm(data, go));
  parts.push(...data.links.map((link) => card(link, data, api, bridge, reload, failed)));
  if (data.pages > 1) parts.push(pager(data, go));
  if (data.can_change) parts.push(linkForm(api, reload, failed));
  if (data.can_comment && total) parts.push(commentForm(data, api, reload, failed));
  show(root, ...parts);
}

function searchForm(data, go) {
  const input = el("input", { type: "search", name: "q", value: data.query,
                              "aria-label": "Search linked conversations", placeholder: "Subject, customer or id" });
  const form = el("form", { role: "search" }, input, el("button", { type: "submit", class: "subtle" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ q: input.value.trim(), page: 1 });
  });
  return form;
}

function pager(data, go) {
  const nav = el("nav", { "aria-label": "Pages", class: "pager" });
  const step = (label, page) => {
    const button = el("button", { type: "button", class: "subtle" }, label);
    button.addEventListener("click", () => go({ q: data.query, page }));
    return button;
  };
  if (data.page > 1) nav.append(step("Previous", data.page - 1));
  nav.append(el("span", { class: "muted" }, ` Page ${data.page} of ${data.pages} `));
  if (data.page < data.pages) nav.append(step("Next", data.page + 1));
  return nav;
}

function label(link) {
  if (link.type !== "ticket") return `Conversation ${link.conversation_id}`;
  const ticket = link.ticket || {};
  const name = `Ticket ${ticket.number ? "#" + ticket.number : link.conversation_id}`;
  return ticket.title ? `${name}: ${ticket.title}` : name;
}

function card(link, data, api, bridge, reload, failed) {
  const open = el("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, label(link));
  open.addEventListener("click", (event) => {
    if (bridge.router && bridge.router.open) {
      event.preventDefault();
      bridge.router.open(link.url);
    }
  });
  const header = el("header", {}, el("h3", {}, open));
  if (data.can_change) {
    const unlink = el("button", { type: "button", class: "subtle" }, "Unlink");
    unlink.addEventListener("click", async () => {
      unlink.disabled = true;
      try {
        await api(`/links/${link.id}`, "DELETE");
        await reload(`${link.type === "ticket" ? "Ticket" : "Conversation"} ${link.conversation_id} is no longer linked.`);
      } catch (error) {
        unlink.disabled = false;
        failed(error);
      }
    });
    header.append(unlink);
  }
  const body = [header];
  if (link.ticket) {
    const facts = [link.tracker ? "Tracker ticket" : link.ticket.type, link.ticket.state].filter(Boolean);
    if (facts.length) body.push(el("p", { class: "muted" }, facts.join(" · ")));
  }
  if (link.problem || (link.ticket && link.ticket.problem)) {
    const problem = link.problem || link.ticket.problem;
    body.push(el("p", { class: "problem" }, problem === "deleted"
      ? "Deleted in Intercom: unlink it." : "Intercom could not be read just now."));
  }
  for (const section of link.sections) {
    body.push(el("div", { class: "section" }, section.title));
    const list = el("dl");
    for (const field of section.fields) list.append(el("dt", {}, field.label), el("dd", {}, text(field)));
    body.push(list);
  }
  if (link.freshness) body.push(el("p", { class: "freshness" }, link.freshness));
  return el("article", { class: "card", "data-testid": "card" }, ...body);
}

// Values marked html were sanitised by the service; the panel shows them as plain text all the same.
function text(field) {
  if (!field.html) return field.value;
  const holder = document.createElement("template");
  holder.innerHTML = field.value;
  return holder.content.textContent;
}

function linkForm(api, reload, failed) {
  const input = el("input", { type: "text", name: "conversation", "aria-label": "Conversation URL or id",
                              placeholder: "Intercom conversation or ticket URL, or an id", required: "" });
  const kind = el("select", { name: "target_type", "aria-label": "What to link" },
                  el("option", { value: "conversation" }, "Conversation"), el("option", { value: "ticket" }, "Ticket"));
  const form = el("form", { "data-testid": "link-form" }, input, kind, el("button", { type: "submit" }, "Link"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api("/links", "POST", { conversation: input.value, target_type: kind.value });
      const what = `${made.type === "ticket" ? "Ticket" : "Conversation"} ${made.conversation_id}`;
      await reload(made.created ? `${what} is now linked.` : `${what} was already linked.`);
    } catch (error) {
      failed(error);
    }
  });
  return form;
}

function commentForm(data, api, reload, failed) {
  const body = el("textarea", { name: "body", "aria-label": "Comment", required: "",
                                placeholder: "Write to every linked conversation" });
  const kind = el("select", { name: "message_type", "aria-label": "Send as" },
                  el("option", { value: "note" }, "Internal note"));
  if (data.can_reply) kind.append(el("option", { value: "comment" }, "Reply to the customer"));
  const form = el("form", { "data-testid": "comment-form" }, body, kind, el("button", { type: "submit" }, "Send"));
  const key = () => `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  let idempotency = key();  // the same form sent twice (a double click) posts once
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const sent = await api("/comments", "POST",
                             { body: body.value, message_type: kind.value, idempotency_key: idempotency });
      idempotency = key();
      const n = sent.conversations;
      await reload(`Your ${kind.value === "note" ? "note" : "reply"} is on its way to ${n} ` +
                   `${n === 1 ? "conversation" : "conversations"}.`);
    } catch (error) {
      failed(error);
    }
  });
  return form;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== "" && child != null) node.append(child);
  return node;
}

function show(root, ...children) {
  root.replaceChildren(...children);
}
