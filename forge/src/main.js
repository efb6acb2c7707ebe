// Entry point of the Custom UI: the real Forge bridge in, the panel out. `npm run build` bundles it.
import { invokeRemote, router, view } from "@forge/bridge";
import { start } from "./panel.js";

start({ invokeRemote, router, view }, document.getElementById("app"));
