// Type test: the vendor's real `typeof OT` (@vonage/client-sdk-video's opentok.d.ts,
// `declare namespace OT`) is accepted where the SDK takes an OT.
/// <reference path="../../node_modules/@vonage/client-sdk-video/dist/js/opentok.d.ts" />
import VonageOT from "@vonage/client-sdk-video";
import { join } from "video-handoff";
import type { OTLike } from "video-handoff";

const asNamespace: OTLike = OT;
const asModule: OTLike = VonageOT;

async function withVendor(): Promise<void> {
  await join({ OT, applicationId: "app", sessionId: "2_MX4", token: "T" });
  await join({ OT: VonageOT, applicationId: "app", sessionId: "2_MX4", token: "T" });
  // @ts-expect-error: a Session is not an OT client
  await join({ OT: OT.initSession("app", "2_MX4"), applicationId: "app", sessionId: "2_MX4", token: "T" });
}

void [asNamespace, asModule, withVendor];
