import { LocalWaitingDevices } from './dispatcher.js';
import { waitingDevicesContract } from './waiting-devices.contract.js';

waitingDevicesContract('LocalWaitingDevices', async () => new LocalWaitingDevices());
