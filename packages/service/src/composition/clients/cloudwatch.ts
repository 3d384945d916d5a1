import type { GetMetricData } from '../../adapters/cloudwatch-authorizer-verdicts';
import { clientOptions, withDependencyErrors, type ClientSettings } from './settings';

/**
 * GetMetricData over a CloudWatch client made on the first call: only the stats requests that ask
 * for the authorizer's verdicts load @aws-sdk/client-cloudwatch, every other admin request and the
 * cold start do not.
 */
export function cloudWatchGetMetricData(settings: ClientSettings): GetMetricData {
  let client: Promise<{ send: GetMetricData }> | undefined;
  return async (input) => {
    client ??= import('@aws-sdk/client-cloudwatch').then(({ CloudWatchClient, GetMetricDataCommand }) => {
      const cloudWatch = withDependencyErrors(new CloudWatchClient(clientOptions(settings, 'cloudwatch')), 'cloudwatch');
      return { send: (request) => cloudWatch.send(new GetMetricDataCommand(request)) };
    });
    return (await client).send(input);
  };
}
