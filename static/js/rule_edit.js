// The rule editor: which option groups show, the live preview, placeholders inserted at the cursor.
(function () {
  const form = document.getElementById("rule-form");
  const trigger = form.querySelector("[name=trigger]");
  const template = form.querySelector("[name=template]");
  const issue = document.getElementById("preview-issue");
  const defaults = JSON.parse(document.getElementById("default-templates").textContent);
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;

  function showFor() {
    const t = trigger.value;
    form.querySelector(".when-transition").hidden = t !== "issue_transitioned";
    form.querySelector(".when-fields").hidden = t !== "fields_changed";
    form.querySelector(".when-comment").hidden = t !== "comment_created";
    const boxes = [...form.querySelectorAll("[name=comment_visibility]")];
    form.querySelector(".visibility-warning").hidden = !boxes.some(b => b.checked && b.value !== "public");
    const replyProjects = JSON.parse(document.getElementById("reply-projects").textContent).map(String);
    const project = form.querySelector("[name=project]").value;
    form.querySelector(".reply-blocked").hidden = !project || replyProjects.includes(project);
    for (const [box, opt] of [["act_reopen", 0], ["act_snooze", 1], ["act_assign", 2], ["act_tag", 3]]) {
      const on = form.querySelector(`[name=${box}]`).checked;
      form.querySelectorAll(".option")[opt].hidden = !on;
    }
  }
  let timer = null, seq = 0;
  function preview() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++seq;
      const body = new URLSearchParams({template: template.value, trigger: trigger.value, issue: issue.value.trim()});
      let data;
      try {
        const r = await fetch(form.dataset.previewUrl, {method: "POST", body, headers: {"X-CSRFToken": csrf}});
        data = await r.json();
      } catch (e) { data = {html: "", problems: [], error: "The preview could not be loaded."}; }
      if (mine !== seq) return;
      document.getElementById("preview-note").innerHTML = data.html || "";  // rendered and sanitised by the server
      const err = document.getElementById("preview-error");
      err.textContent = data.error || ""; err.hidden = !data.error;
      document.getElementById("preview-source").querySelector("small").textContent =
        (data.source || "") + (data.uses_default ? " The template is empty, so the default for this trigger is shown." : "");
      const list = document.getElementById("template-problems");
      list.replaceChildren(...(data.problems || []).map(p => {
        const li = document.createElement("li"); li.className = p.blocking ? "blocking" : "hint"; li.textContent = p.message; return li;
      }));
    }, 250);
  }
  document.getElementById("use-default").addEventListener("click", () => { template.value = defaults[trigger.value] || ""; preview(); });
  document.querySelectorAll("button.insert").forEach(b => b.addEventListener("click", () => {
    const text = "{" + "{ " + b.dataset.insert + " }" + "}";
    const at = template.selectionStart ?? template.value.length;
    template.value = template.value.slice(0, at) + text + template.value.slice(template.selectionEnd ?? at);
    template.focus(); preview();
  }));
  // Pickers: the chosen project's statuses, issue types and priorities from Jira (free text still allowed).
  const projectSelect = form.querySelector("[name=project]");
  async function loadChoices() {
    const note = form.querySelector("[data-testid=jira-choices]");
    const fill = (id, values) => document.getElementById(id).replaceChildren(...values.map(v => {
      const o = document.createElement("option"); o.value = v; return o;
    }));
    if (!projectSelect.value) { note.hidden = true; fill("jira-issue-types", []); fill("jira-priorities", []); return; }
    let data;
    try {
      const r = await fetch(form.dataset.choicesUrl + "?project=" + encodeURIComponent(projectSelect.value));
      data = await r.json();
    } catch (e) { data = {problem: "Jira's statuses could not be loaded; type them in."}; }
    fill("jira-statuses", data.statuses || ["any", "category:done"]);
    fill("jira-issue-types", data.issue_types || []);
    fill("jira-priorities", data.priorities || []);
    note.textContent = data.problem || ((data.issue_types || []).length
      ? `In Jira: issue types ${data.issue_types.join(", ")}; priorities ${data.priorities.join(", ")}.` : "");
    note.hidden = !note.textContent;
  }
  projectSelect.addEventListener("change", loadChoices);
  loadChoices();
  form.addEventListener("change", showFor);
  trigger.addEventListener("change", preview);
  template.addEventListener("input", preview);
  issue.addEventListener("change", preview);
  showFor();
  preview();
})();
