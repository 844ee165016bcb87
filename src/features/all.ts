import type { Feature, FeatureServices } from './feature.ts';
import { deviceFlowFeature, type DeviceFlowOptions } from './device_flow/feature.ts';

/** The settings every feature together reads: a narrow slice of the configuration. */
export type FeatureOptions = DeviceFlowOptions;

/**
 * The features Gatehouse runs, in order. The server and the `gatehouse clients` command both
 * compose this list, so they build the same provider.
 */
export function gatehouseFeatures(options: FeatureOptions, services: FeatureServices): Feature[] {
  return [deviceFlowFeature(options, services)];
}
