import type { z } from 'zod';
import type { Setting } from './setting.ts';
import { core } from './settings/core.ts';
import { storage } from './settings/storage.ts';
import { keys } from './settings/keys.ts';
import { clients } from './settings/clients.ts';
import { ops } from './settings/ops.ts';
import { registration } from './settings/registration.ts';
import { mtls } from './settings/mtls.ts';
import { resources } from './settings/resources.ts';
import { flows } from './settings/flows.ts';
import { rateLimits } from './settings/rate_limits.ts';
import { connectors } from './settings/connectors.ts';

/**
 * Every setting, grouped by concern. Adding a setting means adding it to one group file;
 * README's table and `.env.example` are generated from this object (`npm run docs`).
 */
export const groups = { core, storage, keys, clients, mtls, resources, registration, flows, rateLimits, connectors, ops } as const;

type Groups = typeof groups;
type AllSettings = { [G in keyof Groups]: Groups[G] }[keyof Groups];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Flat = UnionToIntersection<AllSettings>;

type ValueOf<S> = S extends Setting<infer Z> ? (S extends { default: string } ? z.output<Z> : z.output<Z> | undefined) : never;

/** The validated configuration: one property per setting. */
export type Settings = { [K in keyof Flat]: ValueOf<Flat[K]> };

/** All settings keyed by property name. */
export const settings: Record<string, Setting> = Object.assign({}, ...Object.values(groups));
